//! Open files: what a file descriptor refers to (the console or a pipe end) and a
//! process's descriptor table.
//!
//! A `File` is an open file description: `dup` and `fork` share it (and its flags), and
//! it closes — a pipe end stops counting — when the last descriptor referring to it, in
//! any process, is closed. A process's table is closed whole when the process ends, before
//! it is published as a zombie (docs/design.md, "close its resources").

pub mod pipe;
pub mod table;

pub use table::{FdTable, TableError};

/// What a descriptor refers to.
pub enum Kind {
    /// The console: reads take keyboard and serial input, writes go to the screen and the
    /// serial port.
    Console,
    PipeRead(pipe::ReadEnd),
    PipeWrite(pipe::WriteEnd),
}

/// An open file description.
pub struct File {
    pub kind: Kind,
    /// O_NONBLOCK: pipe reads and writes that would wait fail with EAGAIN instead.
    pub nonblocking: bool,
}

impl File {
    pub fn console() -> File {
        File { kind: Kind::Console, nonblocking: false }
    }
}
