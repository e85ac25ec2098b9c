//! How a process ended, in Linux's wait-status encoding (`W_EXITCODE`): an exit code `c`
//! is `(c & 0xff) << 8`, death by signal `s` is `s`.

/// How a process ended, in Linux's wait-status encoding.
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
