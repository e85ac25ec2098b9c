//! A process's file descriptor table: descriptor numbers to shared open files, each with
//! its close-on-exec flag. New descriptors take the lowest free number, as POSIX says.
//!
//! Lock rule: the owning process keeps the table under a lock taken with interrupts off,
//! briefly; operations here never block. A file closed here may be dropped under that
//! lock: dropping a pipe end only wakes the other side (wait-queue locks, taken after).

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::File;

/// Most descriptors a process may have open (Linux's default RLIMIT_NOFILE soft limit).
pub const MAX_FDS: usize = 1024;

#[derive(Clone)]
struct Entry {
    file: Arc<File>,
    close_on_exec: bool,
}

/// Why a table operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableError {
    /// Not an open descriptor (EBADF).
    BadDescriptor,
    /// `MAX_FDS` are open (EMFILE).
    TooManyOpen,
    /// No memory to grow the table (ENOMEM).
    OutOfMemory,
}

#[derive(Default)]
pub struct FdTable {
    entries: Vec<Option<Entry>>,
}

impl FdTable {
    /// A table with standard input, output and error on the console.
    pub fn with_console() -> Result<FdTable, TableError> {
        let mut table = FdTable::default();
        let console = Arc::new(File::console());
        for _ in 0..3 {
            table.install(console.clone(), false)?;
        }
        Ok(table)
    }

    /// A copy for a forked child: the same open files, shared.
    pub fn try_clone(&self) -> Result<FdTable, TableError> {
        let mut entries = Vec::new();
        crate::fault_injection::try_reserve_exact(&mut entries, self.entries.len())
            .map_err(|_| TableError::OutOfMemory)?;
        entries.extend(self.entries.iter().cloned());
        Ok(FdTable { entries })
    }

    pub fn get(&self, fd: u64) -> Result<Arc<File>, TableError> {
        let index = usize::try_from(fd).map_err(|_| TableError::BadDescriptor)?;
        match self.entries.get(index) {
            Some(Some(entry)) => Ok(entry.file.clone()),
            _ => Err(TableError::BadDescriptor),
        }
    }

    /// Puts `file` at the lowest free descriptor and returns it.
    pub fn install(&mut self, file: Arc<File>, close_on_exec: bool) -> Result<u64, TableError> {
        let free = self.entries.iter().position(Option::is_none).unwrap_or(self.entries.len());
        self.install_at(free, file, close_on_exec)?;
        Ok(free as u64)
    }

    /// Puts `file` at descriptor `fd`, returning what was there (for the caller to drop
    /// outside the table's lock).
    pub fn install_at(
        &mut self,
        fd: usize,
        file: Arc<File>,
        close_on_exec: bool,
    ) -> Result<Option<Arc<File>>, TableError> {
        if fd >= MAX_FDS {
            return Err(TableError::TooManyOpen);
        }
        if fd >= self.entries.len() {
            let more = fd + 1 - self.entries.len();
            crate::fault_injection::try_reserve(&mut self.entries, more)
                .map_err(|_| TableError::OutOfMemory)?;
            self.entries.resize(fd + 1, None);
        }
        let old = self.entries[fd].replace(Entry { file, close_on_exec });
        Ok(old.map(|entry| entry.file))
    }

    /// Removes descriptor `fd`, returning its file (for the caller to drop outside the
    /// table's lock).
    pub fn remove(&mut self, fd: u64) -> Result<Arc<File>, TableError> {
        let index = usize::try_from(fd).map_err(|_| TableError::BadDescriptor)?;
        let entry = self.entries.get_mut(index).and_then(Option::take).ok_or(TableError::BadDescriptor)?;
        while self.entries.last().is_some_and(Option::is_none) {
            self.entries.pop();
        }
        Ok(entry.file)
    }

    /// Closes every close-on-exec descriptor (execve).
    pub fn close_on_exec(&mut self) {
        for slot in &mut self.entries {
            if slot.as_ref().is_some_and(|entry| entry.close_on_exec) {
                *slot = None;
            }
        }
    }

    /// Takes out every descriptor (the process is ending).
    pub fn remove_all(&mut self) -> FdTable {
        core::mem::take(self)
    }
}
