//! VGA text mode: an 80x25 screen of (character, colour) cells that scrolls up.
//!
//! `TextScreen` is the logic and works on any cell array (the host tests use a plain one);
//! `init` points the kernel's screen at the real buffer at physical 0xb8000, reached through
//! the physical-memory window. Every cell write is volatile, so the compiler cannot drop
//! writes it sees no reader for.
//!
//! Lock rule: the kernel's screen is behind a spin lock taken with interrupts disabled, for
//! the same reason as the serial port's.

use core::fmt;

pub const WIDTH: usize = 80;
pub const HEIGHT: usize = 25;

/// Foreground on background, in VGA's attribute byte layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(transparent)]
pub struct Attribute(pub u8);

impl Attribute {
    pub const LIGHT_GREY_ON_BLACK: Attribute = Attribute(0x07);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Cell {
    pub character: u8,
    pub attribute: Attribute,
}

pub type Cells = [[Cell; WIDTH]; HEIGHT];

const BLANK: Cell = Cell { character: b' ', attribute: Attribute::LIGHT_GREY_ON_BLACK };

/// A text screen writing at the bottom line and scrolling up when it is full.
pub struct TextScreen<'a> {
    cells: &'a mut Cells,
    column: usize,
    attribute: Attribute,
}

impl<'a> TextScreen<'a> {
    pub fn new(cells: &'a mut Cells) -> Self {
        Self { cells, column: 0, attribute: Attribute::LIGHT_GREY_ON_BLACK }
    }

    pub fn write_byte(&mut self, byte: u8) {
        match byte {
            b'\n' => self.new_line(),
            byte => {
                if self.column >= WIDTH {
                    self.new_line();
                }
                let cell = Cell { character: byte, attribute: self.attribute };
                self.put(HEIGHT - 1, self.column, cell);
                self.column += 1;
            }
        }
    }

    /// Clears the screen.
    pub fn clear(&mut self) {
        for row in 0..HEIGHT {
            self.clear_row(row);
        }
        self.column = 0;
    }

    fn new_line(&mut self) {
        for row in 1..HEIGHT {
            for column in 0..WIDTH {
                let cell = self.get(row, column);
                self.put(row - 1, column, cell);
            }
        }
        self.clear_row(HEIGHT - 1);
        self.column = 0;
    }

    fn clear_row(&mut self, row: usize) {
        for column in 0..WIDTH {
            self.put(row, column, BLANK);
        }
    }

    fn get(&self, row: usize, column: usize) -> Cell {
        // SAFETY: the reference is valid and aligned; volatile because the cells may be
        // device memory.
        unsafe { core::ptr::read_volatile(&self.cells[row][column]) }
    }

    fn put(&mut self, row: usize, column: usize, cell: Cell) {
        // SAFETY: as in `get`, through a unique reference.
        unsafe { core::ptr::write_volatile(&mut self.cells[row][column], cell) }
    }
}

impl fmt::Write for TextScreen<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for byte in text.bytes() {
            // Code page 437 prints ASCII as ASCII; anything else shows as a solid block.
            match byte {
                0x20..=0x7e | b'\n' => self.write_byte(byte),
                _ => self.write_byte(0xfe),
            }
        }
        Ok(())
    }
}

#[cfg(all(target_arch = "x86_64", target_os = "none"))]
mod device {
    use conquer_once::spin::OnceCell;

    use super::{Cells, TextScreen};

    /// Physical address of the text buffer.
    const BUFFER_PHYSICAL: u64 = 0xb8000;

    static SCREEN: OnceCell<spin::Mutex<TextScreen<'static>>> = OnceCell::uninit();

    /// Takes over the VGA text buffer and clears it. Later calls do nothing.
    ///
    /// # Safety
    /// All physical memory must be mapped at `physical_memory_offset`, writable, for the
    /// kernel's lifetime, and nothing else may use the text buffer.
    pub(crate) unsafe fn init(physical_memory_offset: u64) {
        SCREEN.init_once(|| {
            let address = physical_memory_offset + BUFFER_PHYSICAL;
            // SAFETY: by the contract the buffer is mapped at `address`; it is `Cells`-sized
            // and aligned, and `init_once` hands out this one reference only.
            let cells = unsafe { &mut *(address as *mut Cells) };
            let mut screen = TextScreen::new(cells);
            screen.clear();
            spin::Mutex::new(screen)
        });
    }

    /// Writes formatted text to the screen, with interrupts masked while it is held.
    pub fn write_fmt(args: core::fmt::Arguments) {
        if let Some(screen) = SCREEN.get() {
            x86_64::instructions::interrupts::without_interrupts(|| {
                let _ = core::fmt::Write::write_fmt(&mut *screen.lock(), args);
            });
        }
    }
}

#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub(crate) use device::init;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub use device::write_fmt;

#[cfg(test)]
mod tests {
    use core::fmt::Write;

    use super::*;

    fn blank_cells() -> Box<Cells> {
        Box::new([[BLANK; WIDTH]; HEIGHT])
    }

    fn row_text(cells: &Cells, row: usize) -> String {
        cells[row].iter().map(|cell| cell.character as char).collect::<String>().trim_end().to_string()
    }

    #[test]
    fn text_appears_on_the_bottom_line_and_scrolls_up() {
        let mut cells = blank_cells();
        let mut screen = TextScreen::new(&mut cells);
        write!(screen, "first\nsecond").unwrap();
        assert_eq!(row_text(&cells, HEIGHT - 2), "first");
        assert_eq!(row_text(&cells, HEIGHT - 1), "second");
    }

    #[test]
    fn a_long_line_wraps_at_the_screen_width() {
        let mut cells = blank_cells();
        let mut screen = TextScreen::new(&mut cells);
        let line = "x".repeat(WIDTH + 3);
        screen.write_str(&line).unwrap();
        assert_eq!(row_text(&cells, HEIGHT - 2), "x".repeat(WIDTH));
        assert_eq!(row_text(&cells, HEIGHT - 1), "xxx");
    }

    #[test]
    fn non_ascii_shows_as_a_block() {
        let mut cells = blank_cells();
        let mut screen = TextScreen::new(&mut cells);
        screen.write_str("é").unwrap();
        assert_eq!(cells[HEIGHT - 1][0].character, 0xfe);
        assert_eq!(cells[HEIGHT - 1][1].character, 0xfe);
    }
}
