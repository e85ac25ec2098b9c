//! Linux errno values: a failed system call returns `-errno` in rax.

/// An error number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    pub const EPERM: Errno = Errno(1);
    pub const ENOENT: Errno = Errno(2);
    pub const ESRCH: Errno = Errno(3);
    pub const EINTR: Errno = Errno(4);
    pub const E2BIG: Errno = Errno(7);
    pub const ENOEXEC: Errno = Errno(8);
    pub const EBADF: Errno = Errno(9);
    pub const ECHILD: Errno = Errno(10);
    pub const EAGAIN: Errno = Errno(11);
    pub const ENOMEM: Errno = Errno(12);
    pub const EFAULT: Errno = Errno(14);
    pub const ENODEV: Errno = Errno(19);
    pub const EINVAL: Errno = Errno(22);
    pub const EMFILE: Errno = Errno(24);
    pub const ENOTTY: Errno = Errno(25);
    pub const EPIPE: Errno = Errno(32);
    pub const ENAMETOOLONG: Errno = Errno(36);
    pub const ENOSYS: Errno = Errno(38);
    pub const ETIMEDOUT: Errno = Errno(110);

    /// What the system call returns in rax: `-errno`.
    pub const fn as_return(self) -> i64 {
        -(self.0 as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::Errno;

    #[test]
    fn a_failed_call_returns_minus_errno() {
        assert_eq!(Errno::ENOSYS.as_return(), -38);
        assert_eq!(Errno::EFAULT.as_return() as u64, 0xffff_ffff_ffff_fff2);
    }
}
