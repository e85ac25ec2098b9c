//! A map keyed by pid whose growth can fail: the process table and each process's
//! children.
//!
//! Entries are kept sorted by pid in one vector, so a lookup is a binary search, the
//! lowest pid comes first (wait4 collects the zombie of lowest pid), and growth is a
//! fallible reservation (`fault_injection::try_reserve`): fork fails with ENOMEM instead of
//! the kernel running out of heap. Taking the last entry out gives the vector's memory
//! back, so that a finished workload leaves no heap behind. Never more entries than
//! `MAX_PROCESSES`, so the shifting an insert or removal does stays small.

use alloc::vec::Vec;

use crate::fault_injection::OutOfHeap;

/// Values of type `V` by pid.
pub(super) struct PidMap<V> {
    entries: Vec<(u32, V)>,
}

impl<V> Default for PidMap<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> PidMap<V> {
    pub(super) const fn new() -> Self {
        Self { entries: Vec::new() }
    }

    fn place(&self, pid: u32) -> Result<usize, usize> {
        self.entries.binary_search_by_key(&pid, |(listed, _)| *listed)
    }

    /// Makes room for `more` entries, or fails having changed nothing.
    pub(super) fn reserve(&mut self, more: usize) -> Result<(), OutOfHeap> {
        crate::fault_injection::try_reserve(&mut self.entries, more)
    }

    /// Enters `value` under `pid`, replacing what was there; fails, having changed nothing,
    /// when there is no room and no heap for more.
    pub(super) fn try_insert(&mut self, pid: u32, value: V) -> Result<(), OutOfHeap> {
        match self.place(pid) {
            Ok(at) => self.entries[at].1 = value,
            Err(at) => {
                self.reserve(1)?;
                self.entries.insert(at, (pid, value));
            }
        }
        Ok(())
    }

    pub(super) fn get(&self, pid: u32) -> Option<&V> {
        self.place(pid).ok().map(|at| &self.entries[at].1)
    }

    pub(super) fn remove(&mut self, pid: u32) -> Option<V> {
        let at = self.place(pid).ok()?;
        let (_, value) = self.entries.remove(at);
        self.give_back_if_empty();
        Some(value)
    }

    /// Keeps the entries `keep` says to keep.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) {
        self.entries.retain(|(_, value)| keep(value));
        self.give_back_if_empty();
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The values, lowest pid first.
    pub(super) fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, value)| value)
    }

    /// Every entry, lowest pid first.
    pub(super) fn into_entries(self) -> alloc::vec::IntoIter<(u32, V)> {
        self.entries.into_iter()
    }

    fn give_back_if_empty(&mut self) {
        if self.entries.is_empty() {
            self.entries = Vec::new();
        }
    }
}
