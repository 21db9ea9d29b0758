//! A 64-bit counter every member of a communicator can update atomically,
//! on members of any hosts: one integer in an internal window, on its
//! first member (the shared file pointer of files opened across hosts).
//! Updates go by `Window::accumulate_at`, so on the counter's host they
//! are atomic instructions and from other hosts requests to its window
//! server; no epoch is opened, since each update is atomic on its own.

use super::{Window, calls, get};
use crate::core::comm::Comm;
use crate::core::consts::*;
use crate::core::error::MpiResult;
use crate::core::types::*;
use std::sync::Arc;

pub(crate) struct Counter {
    win: Arc<Window>,
}

impl Counter {
    /// Make the counter (zero) over `comm`: collective.
    pub(crate) fn new(comm: &Comm) -> MpiResult<Counter> {
        let size = if comm.rank == 0 { 8 } else { 0 };
        let (handle, _) = calls::make(
            comm.handle,
            MPI_INFO_NULL,
            MPI_WIN_FLAVOR_ALLOCATE,
            size,
            8,
            None,
        )?;
        Ok(Counter { win: get(handle)? })
    }

    fn update(&self, op: MPI_Op, value: i64) -> MpiResult<i64> {
        let span = self.win.span(0, 0, 1, MPI_INT64_T)?;
        let data = value.to_ne_bytes();
        let data = (op != MPI_NO_OP).then_some(&data[..]);
        let old = self
            .win
            .accumulate_at(&span, MPI_INT64_T, op, data, true)?
            .unwrap_or_default();
        Ok(i64::from_ne_bytes(old[..8].try_into().expect("8 bytes")))
    }

    /// Add `n`; the value before.
    pub(crate) fn fetch_add(&self, n: i64) -> MpiResult<i64> {
        self.update(MPI_SUM, n)
    }

    pub(crate) fn load(&self) -> MpiResult<i64> {
        self.update(MPI_NO_OP, 0)
    }

    pub(crate) fn store(&self, v: i64) -> MpiResult<()> {
        self.update(MPI_REPLACE, v).map(drop)
    }

    /// Free the counter: collective.
    pub(crate) fn free(&self) -> MpiResult<()> {
        let mut handle = self.win.handle;
        calls::win_free(&mut handle)
    }
}
