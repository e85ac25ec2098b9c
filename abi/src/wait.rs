//! How a process ended, in Linux's wait-status encoding (`W_EXITCODE`), and wait4's
//! options.

/// `wait4` returns at once, 0 while matching children live.
pub const WNOHANG: u64 = 1;
pub const WUNTRACED: u64 = 2;
pub const WCONTINUED: u64 = 8;
pub const WNOTHREAD: u64 = 0x2000_0000;
pub const WALL: u64 = 0x4000_0000;
pub const WCLONE: u64 = 0x8000_0000;

/// A wait status: an exit code `c` is `(c & 0xff) << 8`, death by signal `s` is `s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitStatus(pub i32);

impl WaitStatus {
    pub fn exited(code: i32) -> Self {
        WaitStatus((code & 0xff) << 8)
    }

    pub fn signaled(signal: i32) -> Self {
        WaitStatus(signal & 0x7f)
    }

    /// The exit code, if the process exited (`WIFEXITED`/`WEXITSTATUS`).
    pub fn exit_code(self) -> Option<i32> {
        (self.0 & 0x7f == 0).then_some((self.0 >> 8) & 0xff)
    }

    /// The signal that killed the process, if one did (`WIFSIGNALED`/`WTERMSIG`).
    pub fn signal(self) -> Option<i32> {
        let signal = self.0 & 0x7f;
        (signal != 0 && signal != 0x7f).then_some(signal)
    }
}

#[cfg(test)]
mod tests {
    use super::WaitStatus;

    #[test]
    fn statuses_encode_as_linux_w_exitcode_does() {
        assert_eq!(WaitStatus::exited(3).0, 0x300);
        assert_eq!(WaitStatus::exited(256 + 7).exit_code(), Some(7));
        assert_eq!(WaitStatus::exited(0).signal(), None);
        assert_eq!(WaitStatus::signaled(9).0, 9);
        assert_eq!(WaitStatus::signaled(9).signal(), Some(9));
        assert_eq!(WaitStatus::signaled(9).exit_code(), None);
    }
}
