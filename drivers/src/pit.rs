//! The 8253/8254 programmable interval timer, channel 0: the periodic tick.
//!
//! Its input clock is 1.193182 MHz; a 16-bit divisor sets the interrupt rate.

/// The PIT's input frequency in Hz.
pub const INPUT_HZ: u32 = 1_193_182;

/// The divisor giving the rate closest to `hz`, clamped to what 16 bits can express
/// (a divisor of 0 means 65536 to the chip, about 18.2 Hz).
pub fn divisor_for(hz: u32) -> u16 {
    let hz = hz.max(1);
    let divisor = (INPUT_HZ + hz / 2) / hz;
    match divisor {
        0 | 1 => 2,
        2..=65535 => divisor as u16,
        _ => 0,
    }
}

/// Programs channel 0 as a rate generator (mode 2) at about `hz` interrupts per second.
#[cfg(target_arch = "x86_64")]
pub fn start_periodic(hz: u32) {
    use x86_64::instructions::port::Port;

    const CHANNEL0_DATA: u16 = 0x40;
    const COMMAND: u16 = 0x43;
    const CHANNEL0_LOBYTE_HIBYTE_RATE_GENERATOR: u8 = 0b0011_0100;

    let [low, high] = divisor_for(hz).to_le_bytes();
    let mut command = Port::<u8>::new(COMMAND);
    let mut data = Port::<u8>::new(CHANNEL0_DATA);
    // SAFETY: ports 0x40 and 0x43 belong to the PIT, which only this driver programs; the
    // sequence is the documented command byte followed by the divisor's low and high bytes.
    unsafe {
        command.write(CHANNEL0_LOBYTE_HIBYTE_RATE_GENERATOR);
        data.write(low);
        data.write(high);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_rates_get_the_nearest_divisor() {
        assert_eq!(divisor_for(100), 11932);
        assert_eq!(divisor_for(1000), 1193);
    }

    #[test]
    fn rates_beyond_16_bits_are_clamped() {
        assert_eq!(divisor_for(1), 0, "slowest rate: 65536");
        assert_eq!(divisor_for(INPUT_HZ), 2, "divisor 1 is not allowed in mode 2");
    }
}
