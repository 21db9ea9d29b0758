//! Collective operations, the C face.

use super::types::*;
use crate::core::error::MpiResult;
use crate::core::{coll, comm};

pub(crate) fn barrier(c: MPI_Comm) -> MpiResult<()> {
    coll::barrier(comm::get(c)?)
}
