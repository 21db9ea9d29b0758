//! The point-to-point calls that are not send or receive families: probes,
//! the buffered-send buffer, single requests, generalized and partitioned
//! requests. Typed arguments; `scripts/gen-abi` binds each by its
//! `doc(alias)`. The semantics are `core::pt2pt`'s.

use super::args::info_arg;
use super::error::{MpiError, MpiResult};
use super::pt2pt;
use super::request::Status;
use super::types::MPI_Status;
use super::types::{MPI_Comm, MPI_Count, MPI_Datatype, MPI_Info, MPI_Message, MPI_Request};
use crate::core::consts::MPI_ERR_COUNT;
use std::ffi::{c_int, c_void};

/// Fill a status the caller did not ignore.
fn report(found: &Status, status: Option<&mut MPI_Status>) {
    if let Some(s) = status {
        found.to_c(s, false);
    }
}

#[doc(alias = "MPI_Iprobe")]
pub fn iprobe(
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    flag: &mut c_int,
    status: Option<&mut MPI_Status>,
) -> MpiResult<()> {
    let found = pt2pt::iprobe(source, tag, comm)?;
    *flag = c_int::from(found.is_some());
    if let Some(st) = found {
        report(&st, status);
    }
    Ok(())
}

#[doc(alias = "MPI_Probe")]
pub fn probe(
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    status: Option<&mut MPI_Status>,
) -> MpiResult<()> {
    report(&pt2pt::probe(source, tag, comm)?, status);
    Ok(())
}

#[doc(alias = "MPI_Improbe")]
pub fn improbe(
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    flag: &mut c_int,
    message: &mut MPI_Message,
    status: Option<&mut MPI_Status>,
) -> MpiResult<()> {
    let found = pt2pt::improbe(source, tag, comm)?;
    *flag = c_int::from(found.is_some());
    if let Some((m, st)) = found {
        *message = m;
        report(&st, status);
    }
    Ok(())
}

#[doc(alias = "MPI_Mprobe")]
pub fn mprobe(
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    message: &mut MPI_Message,
    status: Option<&mut MPI_Status>,
) -> MpiResult<()> {
    let (m, st) = pt2pt::mprobe(source, tag, comm)?;
    *message = m;
    report(&st, status);
    Ok(())
}

#[doc(alias = "MPI_Buffer_attach")]
pub fn buffer_attach(buffer: usize, size: MPI_Count) -> MpiResult<()> {
    pt2pt::buffer_attach(buffer, size)
}

/// `MPI_Buffer_detach`: `buffer_addr` is the caller's `void *` slot.
#[doc(alias = "MPI_Buffer_detach")]
pub fn buffer_detach(buffer_addr: &mut usize, size: &mut MPI_Count) -> MpiResult<()> {
    let (a, n) = pt2pt::buffer_detach()?;
    *buffer_addr = a;
    *size = MPI_Count::try_from(n)
        .map_err(|_| MpiError::new(MPI_ERR_COUNT, "buffer size overflows"))?;
    Ok(())
}

#[doc(alias = "MPI_Request_free")]
pub fn request_free(request: &mut MPI_Request) -> MpiResult<()> {
    pt2pt::request_free(request)
}

#[doc(alias = "MPI_Cancel")]
pub fn cancel(request: &mut MPI_Request) -> MpiResult<()> {
    pt2pt::cancel(*request)
}

#[doc(alias = "MPI_Start")]
pub fn start(request: &mut MPI_Request) -> MpiResult<()> {
    pt2pt::start(*request)
}

#[doc(alias = "MPI_Grequest_start")]
pub fn grequest_start(
    query_fn: usize,
    free_fn: usize,
    cancel_fn: usize,
    extra_state: *mut c_void,
    request: &mut MPI_Request,
) -> MpiResult<()> {
    *request = pt2pt::grequest_start(query_fn, free_fn, cancel_fn, extra_state)?;
    Ok(())
}

#[doc(alias = "MPI_Grequest_complete")]
pub fn grequest_complete(request: MPI_Request) -> MpiResult<()> {
    pt2pt::grequest_complete(request)
}

#[doc(alias = "MPI_Psend_init")]
#[allow(clippy::too_many_arguments)]
pub fn psend_init(
    buf: usize,
    partitions: c_int,
    count: MPI_Count,
    datatype: MPI_Datatype,
    dest: c_int,
    tag: c_int,
    comm: MPI_Comm,
    info: MPI_Info,
    request: &mut MPI_Request,
) -> MpiResult<()> {
    info_arg(info)?;
    *request = pt2pt::psend_init(buf, partitions, count, datatype, dest, tag, comm)?;
    Ok(())
}

#[doc(alias = "MPI_Precv_init")]
#[allow(clippy::too_many_arguments)]
pub fn precv_init(
    buf: usize,
    partitions: c_int,
    count: MPI_Count,
    datatype: MPI_Datatype,
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    info: MPI_Info,
    request: &mut MPI_Request,
) -> MpiResult<()> {
    info_arg(info)?;
    *request = pt2pt::precv_init(buf, partitions, count, datatype, source, tag, comm)?;
    Ok(())
}

#[doc(alias = "MPI_Pready")]
pub fn pready(partition: c_int, request: MPI_Request) -> MpiResult<()> {
    pt2pt::pready(request, std::iter::once(partition))
}

#[doc(alias = "MPI_Pready_range")]
pub fn pready_range(
    partition_low: c_int,
    partition_high: c_int,
    request: MPI_Request,
) -> MpiResult<()> {
    pt2pt::pready(request, partition_low..=partition_high)
}

#[doc(alias = "MPI_Pready_list")]
pub fn pready_list(
    length: c_int,
    array_of_partitions: &[c_int],
    request: MPI_Request,
) -> MpiResult<()> {
    if length < 0 {
        return Err(MpiError::arg(format!("negative length {length}")));
    }
    pt2pt::pready(request, array_of_partitions.iter().copied())
}

#[doc(alias = "MPI_Parrived")]
pub fn parrived(request: MPI_Request, partition: c_int, flag: &mut c_int) -> MpiResult<()> {
    *flag = c_int::from(pt2pt::parrived(request, partition)?);
    Ok(())
}
