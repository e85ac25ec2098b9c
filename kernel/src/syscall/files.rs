//! File descriptor calls: `read`, `write`, `writev`, `ioctl`, `close`, `pipe`/`pipe2`,
//! `dup`, `dup2`, `dup3`, over the process's table (`files`). Descriptors 0–2 start on the
//! console; pipes move bytes between processes (and wake the other side).

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::current_process;
use crate::fault_injection::try_arc;
use crate::files::pipe::{self, PIPE_BUF, PipeError};
use crate::files::{File, Kind, TableError};
use crate::process::{self, usercopy};
use abi::Errno;
use abi::fcntl::{O_CLOEXEC, O_NONBLOCK};
use abi::ioctl::TIOCGWINSZ;
use abi::types::{Iovec, Winsize};

/// Largest piece the console path copies at once.
const CONSOLE_CHUNK: usize = 256;
/// Most `iovec`s `writev` takes (Linux's UIO_MAXIOV).
const IOV_MAX: u64 = 1024;

impl From<TableError> for Errno {
    fn from(error: TableError) -> Errno {
        match error {
            TableError::BadDescriptor => Errno::EBADF,
            TableError::TooManyOpen => Errno::EMFILE,
            TableError::OutOfMemory => Errno::ENOMEM,
        }
    }
}

fn file(fd: u64) -> Result<Arc<File>, Errno> {
    Ok(current_process().with_files(|table| table.get(fd))?)
}

/// `read(fd, buf, count)`: console input (waiting until some is there) or a pipe's bytes
/// (waiting until there are some, or end of file: 0). At most what fits in the writable
/// pages at `buf` is taken, so a `count` larger than the buffer's mapping gives a short
/// count and leaves the rest in the pipe, as on Linux; a buffer with no writable byte is
/// refused before waiting (Linux would wait for data first, then refuse it).
pub(super) fn read(fd: u64, buffer: u64, count: u64) -> Result<u64, Errno> {
    let file = file(fd)?;
    if !usercopy::within_user_half(buffer, count) {
        return Err(Errno::EFAULT);
    }
    if count == 0 {
        return Ok(0);
    }
    let process = current_process();
    let count = usize::try_from(count).map_err(|_| Errno::EINVAL)?;
    let most = match &file.kind {
        Kind::Console => CONSOLE_CHUNK,
        Kind::PipeRead(_) => pipe::CAPACITY,
        Kind::PipeWrite(_) => return Err(Errno::EBADF),
    };
    let room = usercopy::writable_room(&process, buffer, count.min(most));
    if room == 0 {
        return Err(Errno::EFAULT);
    }
    let bytes = match &file.kind {
        Kind::Console => crate::input::read(room, || process.group_exiting()).ok_or(Errno::EINTR)?,
        Kind::PipeRead(end) => {
            end.read(room, file.nonblocking, || process.group_exiting()).map_err(pipe_errno)?
        }
        Kind::PipeWrite(_) => return Err(Errno::EBADF),
    };
    match usercopy::copy_to(&process, buffer, &bytes) {
        Ok(()) => Ok(bytes.len() as u64),
        Err(_) => Err(Errno::EFAULT),
    }
}

fn pipe_errno(error: PipeError) -> Errno {
    match error {
        PipeError::WouldBlock => Errno::EAGAIN,
        PipeError::Broken => Errno::EPIPE,
        PipeError::Interrupted => Errno::EINTR,
        PipeError::OutOfMemory => Errno::ENOMEM,
    }
}

/// `write(fd, buf, count)`.
pub(super) fn write(fd: u64, buffer: u64, count: u64) -> Result<u64, Errno> {
    let file = file(fd)?;
    write_to(&current_process(), &file, buffer, count)
}

/// Writes `count` bytes from user `buffer` to `file`. Once some bytes are written, an error
/// ends the write there and the count so far is returned, as Linux does. Writing to a pipe
/// with no reader is EPIPE, and sends the writer SIGPIPE.
fn write_to(process: &process::Process, file: &File, buffer: u64, count: u64) -> Result<u64, Errno> {
    if !usercopy::within_user_half(buffer, count) {
        return Err(Errno::EFAULT);
    }
    let count = usize::try_from(count).map_err(|_| Errno::EINVAL)?;
    let piece_size = match &file.kind {
        Kind::Console => CONSOLE_CHUNK,
        Kind::PipeWrite(_) => PIPE_BUF,
        Kind::PipeRead(_) => return Err(Errno::EBADF),
    };
    let mut piece = Vec::new();
    crate::fault_injection::try_reserve_exact(&mut piece, piece_size.min(count))
        .map_err(|_| Errno::ENOMEM)?;
    let mut done = 0;
    while done < count {
        let length = (count - done).min(piece_size);
        piece.resize(length, 0);
        let copied = usercopy::copy_from(process, buffer + done as u64, &mut piece);
        let result = match (copied, &file.kind) {
            (Err(_), _) => Err(Errno::EFAULT),
            (Ok(()), Kind::Console) => {
                crate::console::user_output(&piece);
                Ok(())
            }
            (Ok(()), Kind::PipeWrite(end)) => {
                end.write(&piece, file.nonblocking, || process.group_exiting()).map_err(pipe_errno)
            }
            (Ok(()), Kind::PipeRead(_)) => Err(Errno::EBADF),
        };
        match result {
            Ok(()) => done += length,
            Err(_) if done > 0 => break,
            Err(Errno::EPIPE) => {
                crate::process::signal::send(process, abi::signal::SIGPIPE);
                return Err(Errno::EPIPE);
            }
            Err(error) => return Err(error),
        }
    }
    Ok(done as u64)
}

/// `writev(fd, iov, iovcnt)`: each `struct iovec { base, len }` in turn, stopping after one
/// that was written short (a fault part-way: Linux's write ends there too).
pub(super) fn writev(fd: u64, vectors: u64, count: u64) -> Result<u64, Errno> {
    let file = file(fd)?;
    if count > IOV_MAX {
        return Err(Errno::EINVAL);
    }
    let process = current_process();
    let mut total = 0;
    for index in 0..count {
        let at = vectors.checked_add(index * size_of::<Iovec>() as u64).ok_or(Errno::EFAULT)?;
        let Ok(vector) = usercopy::read_val::<Iovec>(&process, at) else {
            return if total == 0 { Err(Errno::EFAULT) } else { Ok(total) };
        };
        match write_to(&process, &file, vector.base, vector.length) {
            Ok(written) if written < vector.length => return Ok(total + written),
            Ok(written) => total += written,
            Err(error) if total == 0 => return Err(error),
            Err(_) => return Ok(total),
        }
    }
    Ok(total)
}

/// `ioctl(fd, request, arg)`: the console answers TIOCGWINSZ with its 80x25 size; anything
/// else, and every request on a pipe, is ENOTTY.
pub(super) fn ioctl(fd: u64, request: u64, argument: u64) -> Result<u64, Errno> {
    if !matches!(file(fd)?.kind, Kind::Console) || request != TIOCGWINSZ {
        return Err(Errno::ENOTTY);
    }
    let size = Winsize {
        rows: hardware::drivers::vga::HEIGHT as u16,
        columns: hardware::drivers::vga::WIDTH as u16,
        ..Winsize::default()
    };
    usercopy::write_val(&current_process(), argument, &size).map(|()| 0)
}

/// `close(fd)`.
pub(super) fn close(fd: u64) -> Result<u64, Errno> {
    let closed = current_process().with_files(|table| table.remove(fd))?;
    drop(closed);
    Ok(0)
}

/// `pipe2(fds, flags)` (and `pipe(fds)`: flags 0): a new pipe, its read end at `fds[0]`
/// and its write end at `fds[1]`; flags O_NONBLOCK and O_CLOEXEC.
pub(super) fn pipe2(fds: u64, flags: u64) -> Result<u64, Errno> {
    if flags & !(O_NONBLOCK | O_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let nonblocking = flags & O_NONBLOCK != 0;
    let close_on_exec = flags & O_CLOEXEC != 0;
    let (read_end, write_end) = pipe::new().map_err(|_| Errno::ENOMEM)?;
    let reader = try_arc(File { kind: Kind::PipeRead(read_end), nonblocking }).map_err(|_| Errno::ENOMEM)?;
    let writer =
        try_arc(File { kind: Kind::PipeWrite(write_end), nonblocking }).map_err(|_| Errno::ENOMEM)?;
    let process = current_process();
    let (read_fd, write_fd) = process.with_files(|table| {
        let read_fd = table.install(reader, close_on_exec)?;
        match table.install(writer, close_on_exec) {
            Ok(write_fd) => Ok((read_fd, write_fd)),
            Err(error) => {
                let _ = table.remove(read_fd);
                Err(error)
            }
        }
    })?;
    let pair = [read_fd as i32, write_fd as i32];
    usercopy::write_val(&process, fds, &pair).map(|()| 0).inspect_err(|_| {
        // Linux leaves nothing behind either: both descriptors go.
        let _ = process.with_files(|table| (table.remove(read_fd), table.remove(write_fd)));
    })
}

/// `dup(fd)`: the same open file at the lowest free descriptor.
pub(super) fn dup(fd: u64) -> Result<u64, Errno> {
    current_process()
        .with_files(|table| {
            let file = table.get(fd)?;
            table.install(file, false)
        })
        .map_err(Errno::from)
}

/// `dup2(old, new)` (`flags` `None`) and `dup3(old, new, flags)`: the same open file at
/// descriptor `new`, closing what was there. dup2 with `old == new` checks `old` and
/// returns it; dup3 refuses it (EINVAL). dup3 takes O_CLOEXEC.
pub(super) fn dup3(old: u64, new: u64, flags: Option<u64>) -> Result<u64, Errno> {
    let close_on_exec = match flags {
        None => false,
        Some(flags) if flags & !O_CLOEXEC != 0 => return Err(Errno::EINVAL),
        Some(flags) => flags & O_CLOEXEC != 0,
    };
    if old == new {
        return match flags {
            Some(_) => Err(Errno::EINVAL),
            None => file(old).map(|_| old),
        };
    }
    let target =
        usize::try_from(new).ok().filter(|&fd| fd < crate::files::table::MAX_FDS).ok_or(Errno::EBADF)?;
    let replaced = current_process().with_files(|table| {
        let file = table.get(old)?;
        table.install_at(target, file, close_on_exec)
    })?;
    drop(replaced);
    Ok(new)
}
