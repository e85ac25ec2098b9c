//! The 8253/8254 programmable interval timer, channel 2 as a one-shot busy wait: the fixed
//! reference (1.193182 MHz) the local APIC timer is measured against at boot. The tick
//! itself comes from the local APIC timer; channel 0 and the PIT's interrupt are unused.
//!
//! Called from: boot code and tests, on one CPU at a time (the channel is not locked).

/// The PIT's input frequency in Hz.
pub const INPUT_HZ: u32 = 1_193_182;

/// The longest one-shot count (16 bits), about 54.9 ms.
pub const MAX_COUNT: u16 = u16::MAX;

/// The count of input clocks nearest to `micros` microseconds, clamped to `1..=MAX_COUNT`.
pub fn count_for_micros(micros: u32) -> u16 {
    let count = (u64::from(micros) * u64::from(INPUT_HZ) + 500_000) / 1_000_000;
    count.clamp(1, u64::from(MAX_COUNT)) as u16
}

/// Microseconds that `count` input clocks take.
pub fn micros_for_count(count: u16) -> u64 {
    u64::from(count) * 1_000_000 / u64::from(INPUT_HZ)
}

/// Spins until `count` input clocks have passed: channel 2 counts down once (mode 0) with
/// its gate on and the speaker off, and its output, read at port 0x61, rises at zero.
#[cfg(target_arch = "x86_64")]
pub fn spin_for(count: u16) {
    use x86_64::instructions::port::Port;

    const CHANNEL2_DATA: u16 = 0x42;
    const COMMAND: u16 = 0x43;
    const CHANNEL2_LOBYTE_HIBYTE_ONE_SHOT: u8 = 0b1011_0000;
    const SYSTEM_CONTROL: u16 = 0x61;
    const GATE2: u8 = 1 << 0;
    const SPEAKER: u8 = 1 << 1;
    const OUT2: u8 = 1 << 5;

    let [low, high] = count.to_le_bytes();
    let mut control = Port::<u8>::new(SYSTEM_CONTROL);
    let mut command = Port::<u8>::new(COMMAND);
    let mut data = Port::<u8>::new(CHANNEL2_DATA);
    // The documented sequence: gate on and speaker off, the command, the count's low and
    // high bytes (the high byte starts the count).
    // SAFETY: ports 0x42, 0x43 and 0x61 are channel 2 and its gate, only this driver's.
    unsafe {
        let system_control = control.read();
        control.write((system_control & !SPEAKER) | GATE2);
        command.write(CHANNEL2_LOBYTE_HIBYTE_ONE_SHOT);
        data.write(low);
        data.write(high);
    }
    // SAFETY: reading port 0x61 has no side effects.
    while unsafe { control.read() } & OUT2 == 0 {
        core::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_become_the_nearest_count() {
        assert_eq!(count_for_micros(10_000), 11932);
        assert_eq!(count_for_micros(50_000), 59659);
        assert_eq!(micros_for_count(59659), 49_999);
    }

    #[test]
    fn counts_beyond_16_bits_are_clamped() {
        assert_eq!(count_for_micros(0), 1, "a count of 0 would mean 65536 to the chip");
        assert_eq!(count_for_micros(1_000_000), MAX_COUNT);
    }
}
