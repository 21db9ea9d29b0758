//! Tool information interface (MPI-4.1 chapter 15): the C face of
//! `core::tool`. Handles are the core's numbers cast to the ABI's pointer
//! types; strings follow the interface's convention (a null length
//! pointer leaves the buffer alone, a null buffer or zero length asks for
//! the full length). Errors are returned, never raised (`entry::tool_guard`).

// SAFETY, for the `unsafe` blocks of this module that decode arguments:
// every pointer is the C caller's argument, null, an MPI sentinel or valid
// for the use the standard describes for its parameter; the helpers check
// for null and the sentinels.

#![allow(clippy::too_many_arguments)] // the C signatures

use super::callbacks::*;
use super::types::*;
use super::util::{cstr, write_cstr};
use crate::core::consts::*;
use crate::core::error::{MpiError, MpiResult};
use crate::core::tool::{self, PvarTarget, Value};
use std::ffi::{c_char, c_int, c_void};

fn invalid(what: &str) -> MpiError {
    MpiError::new(MPI_T_ERR_INVALID, format!("{what} is a null pointer"))
}

/// Store `v` through an output argument the caller may pass as null.
unsafe fn opt<T>(p: *mut T, v: T) {
    // SAFETY: the C caller passes null or a valid pointer to T.
    if let Some(p) = unsafe { p.as_mut() } {
        *p = v;
    }
}

/// Store `v` through a required output argument.
unsafe fn req<T>(p: *mut T, what: &str, v: T) -> MpiResult<()> {
    // SAFETY: the C caller passes null or a valid pointer to T.
    *unsafe { p.as_mut() }.ok_or_else(|| invalid(what))? = v;
    Ok(())
}

/// A string output with its in/out length.
///
/// # Safety
/// `len` is null or valid; `buf` is null or holds `*len` bytes.
unsafe fn str_out(buf: *mut c_char, len: *mut c_int, s: &str) {
    // SAFETY: per the contract above.
    let Some(len) = (unsafe { len.as_mut() }) else {
        return;
    };
    let full = s.len() as c_int + 1;
    if buf.is_null() || *len <= 0 {
        *len = full;
        return;
    }
    // SAFETY: buf holds *len bytes.
    *len = unsafe { write_cstr(buf, *len as usize, s) } as c_int + 1;
}

/// Write the first `len` of `items` into the caller's array.
unsafe fn indices_out(items: &[c_int], len: c_int, out: *mut c_int) -> MpiResult<()> {
    let n = items.len().min(usize::try_from(len).unwrap_or(0));
    if n > 0 {
        if out.is_null() {
            return Err(invalid("indices"));
        }
        // SAFETY: the caller provides `len` >= n ints.
        unsafe { std::ptr::copy_nonoverlapping(items.as_ptr(), out, n) };
    }
    Ok(())
}

fn id<T>(p: *mut T) -> usize {
    p as usize
}

fn handle<T>(id: usize) -> *mut T {
    id as *mut T
}

/// Read a value of `datatype` from a caller's buffer.
fn value_in(datatype: MPI_Datatype, buf: *const c_void) -> MpiResult<Value> {
    if buf.is_null() {
        return Err(invalid("buf"));
    }
    // SAFETY: the buffer holds one value of the variable's datatype.
    Ok(unsafe {
        match datatype {
            MPI_UNSIGNED_LONG_LONG => Value::U64(*buf.cast::<u64>()),
            MPI_DOUBLE => Value::Double(*buf.cast::<f64>()),
            _ => Value::Int(*buf.cast::<c_int>()),
        }
    })
}

/// Store a value into a caller's buffer.
fn value_out(v: Value, buf: *mut c_void) -> MpiResult<()> {
    if buf.is_null() {
        return Err(invalid("buf"));
    }
    // SAFETY: the buffer holds one value of the variable's datatype.
    unsafe {
        match v {
            Value::U64(x) => *buf.cast::<u64>() = x,
            Value::Double(x) => *buf.cast::<f64>() = x,
            Value::Int(x) => *buf.cast::<c_int>() = x,
        }
    }
    Ok(())
}

fn enum_handle(e: Option<usize>) -> MPI_T_enum {
    e.map_or(MPI_T_ENUM_NULL, |i| handle(i + 1))
}

fn enum_index(e: MPI_T_enum) -> usize {
    id(e).wrapping_sub(1)
}

unsafe fn name_arg<'a>(name: *const c_char) -> MpiResult<&'a str> {
    // SAFETY: null or a NUL-terminated string from the caller.
    unsafe { cstr(name, "name") }.map_err(|e| MpiError::new(MPI_T_ERR_INVALID, e.msg))
}

fn target(h: MPI_T_pvar_handle) -> PvarTarget {
    if h == super::data::MPI_T_PVAR_ALL_HANDLES.0 {
        PvarTarget::All
    } else {
        PvarTarget::One(id(h))
    }
}

pub(crate) unsafe fn t_init_thread(required: c_int, provided: *mut c_int) -> MpiResult<()> {
    let level = tool::init(required)?;
    unsafe { opt(provided, level) };
    Ok(())
}

pub(crate) fn t_finalize() -> MpiResult<()> {
    tool::finalize()
}

pub(crate) unsafe fn t_cvar_get_num(num_cvar: *mut c_int) -> MpiResult<()> {
    unsafe { req(num_cvar, "num_cvar", tool::cvar_num()? as c_int) }
}

pub(crate) unsafe fn t_cvar_get_info(
    cvar_index: c_int,
    name: *mut c_char,
    name_len: *mut c_int,
    verbosity: *mut c_int,
    datatype: *mut MPI_Datatype,
    enumtype: *mut MPI_T_enum,
    desc: *mut c_char,
    desc_len: *mut c_int,
    bind: *mut c_int,
    scope: *mut c_int,
) -> MpiResult<()> {
    let i = tool::cvar_info(cvar_index)?;
    // SAFETY: the caller's buffers hold their stated lengths.
    unsafe {
        str_out(name, name_len, i.name);
        str_out(desc, desc_len, i.desc);
    }
    unsafe { opt(verbosity, i.verbosity) };
    unsafe { opt(datatype, i.datatype) };
    unsafe { opt(enumtype, enum_handle(i.enumtype)) };
    unsafe { opt(bind, i.bind) };
    unsafe { opt(scope, i.scope) };
    Ok(())
}

pub(crate) unsafe fn t_cvar_get_index(
    name: *const c_char,
    cvar_index: *mut c_int,
) -> MpiResult<()> {
    unsafe {
        req(
            cvar_index,
            "cvar_index",
            tool::cvar_index(name_arg(name)?)? as c_int,
        )
    }
}

pub(crate) unsafe fn t_cvar_handle_alloc(
    cvar_index: c_int,
    _obj_handle: *mut c_void,
    handle_out: *mut MPI_T_cvar_handle,
    count: *mut c_int,
) -> MpiResult<()> {
    if handle_out.is_null() || count.is_null() {
        return Err(invalid("handle or count"));
    }
    let (h, n) = tool::cvar_handle_alloc(cvar_index)?;
    unsafe { opt(handle_out, handle(h)) };
    unsafe { opt(count, n) };
    Ok(())
}

pub(crate) unsafe fn t_cvar_handle_free(h: *mut MPI_T_cvar_handle) -> MpiResult<()> {
    // SAFETY: null or a valid pointer from the caller.
    let h = unsafe { h.as_mut() }.ok_or_else(|| invalid("handle"))?;
    tool::cvar_handle_free(id(*h))?;
    *h = MPI_T_CVAR_HANDLE_NULL;
    Ok(())
}

pub(crate) fn t_cvar_read(h: MPI_T_cvar_handle, buf: *mut c_void) -> MpiResult<()> {
    value_out(tool::cvar_read(id(h))?, buf)
}

pub(crate) fn t_cvar_write(h: MPI_T_cvar_handle, buf: *const c_void) -> MpiResult<()> {
    let v = value_in(tool::cvar_handle_datatype(id(h))?, buf)?;
    tool::cvar_write(id(h), v)
}

pub(crate) unsafe fn t_enum_get_info(
    enumtype: MPI_T_enum,
    num: *mut c_int,
    name: *mut c_char,
    name_len: *mut c_int,
) -> MpiResult<()> {
    let (n, s) = tool::enum_info(enum_index(enumtype))?;
    unsafe { opt(num, n) };
    // SAFETY: the caller's buffer holds its stated length.
    unsafe { str_out(name, name_len, s) };
    Ok(())
}

pub(crate) unsafe fn t_enum_get_item(
    enumtype: MPI_T_enum,
    index: c_int,
    value: *mut c_int,
    name: *mut c_char,
    name_len: *mut c_int,
) -> MpiResult<()> {
    let (v, s) = tool::enum_item(enum_index(enumtype), index)?;
    unsafe { opt(value, v) };
    // SAFETY: the caller's buffer holds its stated length.
    unsafe { str_out(name, name_len, s) };
    Ok(())
}

pub(crate) unsafe fn t_pvar_get_num(num_pvar: *mut c_int) -> MpiResult<()> {
    unsafe { req(num_pvar, "num_pvar", tool::pvar_num()? as c_int) }
}

pub(crate) unsafe fn t_pvar_get_info(
    pvar_index: c_int,
    name: *mut c_char,
    name_len: *mut c_int,
    verbosity: *mut c_int,
    var_class: *mut c_int,
    datatype: *mut MPI_Datatype,
    enumtype: *mut MPI_T_enum,
    desc: *mut c_char,
    desc_len: *mut c_int,
    bind: *mut c_int,
    readonly: *mut c_int,
    continuous: *mut c_int,
    atomic: *mut c_int,
) -> MpiResult<()> {
    let i = tool::pvar_info(pvar_index)?;
    // SAFETY: the caller's buffers hold their stated lengths.
    unsafe {
        str_out(name, name_len, i.name);
        str_out(desc, desc_len, i.desc);
    }
    unsafe { opt(verbosity, i.verbosity) };
    unsafe { opt(var_class, i.class) };
    unsafe { opt(datatype, i.datatype) };
    unsafe { opt(enumtype, MPI_T_ENUM_NULL) };
    unsafe { opt(bind, i.bind) };
    unsafe { opt(readonly, c_int::from(i.readonly)) };
    unsafe { opt(continuous, c_int::from(i.continuous)) };
    unsafe { opt(atomic, c_int::from(i.atomic)) };
    Ok(())
}

pub(crate) unsafe fn t_pvar_get_index(
    name: *const c_char,
    var_class: c_int,
    pvar_index: *mut c_int,
) -> MpiResult<()> {
    let i = tool::pvar_index(unsafe { name_arg(name) }?, var_class)?;
    unsafe { req(pvar_index, "pvar_index", i as c_int) }
}

pub(crate) unsafe fn t_pvar_session_create(s: *mut MPI_T_pvar_session) -> MpiResult<()> {
    if s.is_null() {
        return Err(invalid("pe_session"));
    }
    unsafe { opt(s, handle(tool::pvar_session_create()?)) };
    Ok(())
}

pub(crate) unsafe fn t_pvar_session_free(s: *mut MPI_T_pvar_session) -> MpiResult<()> {
    // SAFETY: null or a valid pointer from the caller.
    let s = unsafe { s.as_mut() }.ok_or_else(|| invalid("pe_session"))?;
    tool::pvar_session_free(id(*s))?;
    *s = MPI_T_PVAR_SESSION_NULL;
    Ok(())
}

pub(crate) unsafe fn t_pvar_handle_alloc(
    s: MPI_T_pvar_session,
    pvar_index: c_int,
    _obj_handle: *mut c_void,
    handle_out: *mut MPI_T_pvar_handle,
    count: *mut c_int,
) -> MpiResult<()> {
    if handle_out.is_null() || count.is_null() {
        return Err(invalid("handle or count"));
    }
    let (h, n) = tool::pvar_handle_alloc(id(s), pvar_index)?;
    unsafe { opt(handle_out, handle(h)) };
    unsafe { opt(count, n) };
    Ok(())
}

pub(crate) unsafe fn t_pvar_handle_free(
    s: MPI_T_pvar_session,
    h: *mut MPI_T_pvar_handle,
) -> MpiResult<()> {
    // SAFETY: null or a valid pointer from the caller.
    let h = unsafe { h.as_mut() }.ok_or_else(|| invalid("handle"))?;
    tool::pvar_handle_free(id(s), id(*h))?;
    *h = MPI_T_PVAR_HANDLE_NULL;
    Ok(())
}

pub(crate) fn t_pvar_start(s: MPI_T_pvar_session, h: MPI_T_pvar_handle) -> MpiResult<()> {
    tool::pvar_start(id(s), target(h))
}

pub(crate) fn t_pvar_stop(s: MPI_T_pvar_session, h: MPI_T_pvar_handle) -> MpiResult<()> {
    tool::pvar_stop(id(s), target(h))
}

pub(crate) fn t_pvar_read(
    s: MPI_T_pvar_session,
    h: MPI_T_pvar_handle,
    buf: *mut c_void,
) -> MpiResult<()> {
    value_out(tool::pvar_read(id(s), target(h))?, buf)
}

pub(crate) fn t_pvar_readreset(
    s: MPI_T_pvar_session,
    h: MPI_T_pvar_handle,
    buf: *mut c_void,
) -> MpiResult<()> {
    if buf.is_null() {
        return Err(invalid("buf"));
    }
    value_out(tool::pvar_readreset(id(s), target(h))?, buf)
}

pub(crate) fn t_pvar_write(
    s: MPI_T_pvar_session,
    h: MPI_T_pvar_handle,
    buf: *const c_void,
) -> MpiResult<()> {
    let t = target(h);
    let dt = match t {
        PvarTarget::One(h) => tool::pvar_handle_datatype(id(s), h)?,
        PvarTarget::All => MPI_DATATYPE_NULL,
    };
    tool::pvar_write(id(s), t, value_in(dt, buf)?)
}

pub(crate) fn t_pvar_reset(s: MPI_T_pvar_session, h: MPI_T_pvar_handle) -> MpiResult<()> {
    tool::pvar_reset(id(s), target(h))
}

pub(crate) unsafe fn t_category_get_num(num_cat: *mut c_int) -> MpiResult<()> {
    unsafe { req(num_cat, "num_cat", tool::category_num()? as c_int) }
}

pub(crate) unsafe fn t_category_get_info(
    cat_index: c_int,
    name: *mut c_char,
    name_len: *mut c_int,
    desc: *mut c_char,
    desc_len: *mut c_int,
    num_cvars: *mut c_int,
    num_pvars: *mut c_int,
    num_categories: *mut c_int,
) -> MpiResult<()> {
    let i = tool::category_info(cat_index)?;
    // SAFETY: the caller's buffers hold their stated lengths.
    unsafe {
        str_out(name, name_len, i.name);
        str_out(desc, desc_len, i.desc);
    }
    unsafe { opt(num_cvars, i.num_cvars as c_int) };
    unsafe { opt(num_pvars, i.num_pvars as c_int) };
    unsafe { opt(num_categories, i.num_categories as c_int) };
    Ok(())
}

pub(crate) unsafe fn t_category_get_index(
    name: *const c_char,
    cat_index: *mut c_int,
) -> MpiResult<()> {
    unsafe {
        req(
            cat_index,
            "cat_index",
            tool::category_index(name_arg(name)?)? as c_int,
        )
    }
}

pub(crate) unsafe fn t_category_get_cvars(
    cat_index: c_int,
    len: c_int,
    indices: *mut c_int,
) -> MpiResult<()> {
    unsafe { indices_out(&tool::category_cvars(cat_index)?, len, indices) }
}

pub(crate) unsafe fn t_category_get_pvars(
    cat_index: c_int,
    len: c_int,
    indices: *mut c_int,
) -> MpiResult<()> {
    unsafe { indices_out(&tool::category_pvars(cat_index)?, len, indices) }
}

pub(crate) unsafe fn t_category_get_categories(
    cat_index: c_int,
    len: c_int,
    indices: *mut c_int,
) -> MpiResult<()> {
    unsafe { indices_out(&tool::category_categories(cat_index)?, len, indices) }
}

pub(crate) unsafe fn t_category_get_num_events(
    cat_index: c_int,
    num_events: *mut c_int,
) -> MpiResult<()> {
    unsafe {
        req(
            num_events,
            "num_events",
            tool::category_events(cat_index)?.len() as c_int,
        )
    }
}

pub(crate) unsafe fn t_category_get_events(
    cat_index: c_int,
    len: c_int,
    indices: *mut c_int,
) -> MpiResult<()> {
    unsafe { indices_out(&tool::category_events(cat_index)?, len, indices) }
}

pub(crate) unsafe fn t_category_changed(update_number: *mut c_int) -> MpiResult<()> {
    unsafe { req(update_number, "update_number", tool::category_changed()?) }
}

pub(crate) unsafe fn t_source_get_num(num_sources: *mut c_int) -> MpiResult<()> {
    unsafe { req(num_sources, "num_sources", tool::source_num()? as c_int) }
}

pub(crate) unsafe fn t_source_get_info(
    source_index: c_int,
    name: *mut c_char,
    name_len: *mut c_int,
    desc: *mut c_char,
    desc_len: *mut c_int,
    ordering: *mut MPI_T_source_order,
    ticks_per_second: *mut MPI_Count,
    max_ticks: *mut MPI_Count,
    info: *mut MPI_Info,
) -> MpiResult<()> {
    let i = tool::source_info(source_index)?;
    // SAFETY: the caller's buffers hold their stated lengths.
    unsafe {
        str_out(name, name_len, i.name);
        str_out(desc, desc_len, i.desc);
    }
    unsafe { opt(ordering, i.ordering) };
    unsafe { opt(ticks_per_second, i.ticks_per_second) };
    unsafe { opt(max_ticks, i.max_ticks) };
    unsafe { opt(info, MPI_INFO_NULL) };
    Ok(())
}

pub(crate) unsafe fn t_source_get_timestamp(
    source_index: c_int,
    timestamp: *mut MPI_Count,
) -> MpiResult<()> {
    unsafe {
        req(
            timestamp,
            "timestamp",
            tool::source_timestamp(source_index)?,
        )
    }
}

pub(crate) unsafe fn t_event_get_num(num_events: *mut c_int) -> MpiResult<()> {
    unsafe { req(num_events, "num_events", tool::event_num()? as c_int) }
}

pub(crate) unsafe fn t_event_get_info(
    event_index: c_int,
    name: *mut c_char,
    name_len: *mut c_int,
    verbosity: *mut c_int,
    array_of_datatypes: *mut MPI_Datatype,
    array_of_displacements: *mut MPI_Aint,
    num_elements: *mut c_int,
    enumtype: *mut MPI_T_enum,
    info: *mut MPI_Info,
    desc: *mut c_char,
    desc_len: *mut c_int,
    bind: *mut c_int,
) -> MpiResult<()> {
    let e = tool::event_info(event_index)?;
    // SAFETY: the caller's buffers hold their stated lengths.
    unsafe {
        str_out(name, name_len, e.name);
        str_out(desc, desc_len, e.desc);
    }
    // SAFETY: null or a valid pointer from the caller.
    if let Some(n) = unsafe { num_elements.as_mut() } {
        // The arrays hold *n entries on input; *n is the count on output.
        let room = usize::try_from(*n).unwrap_or(0).min(e.elements.len());
        for (k, &(dt, disp)) in e.elements.iter().take(room).enumerate() {
            // SAFETY: the arrays hold `room` entries when not null.
            unsafe {
                if !array_of_datatypes.is_null() {
                    *array_of_datatypes.add(k) = dt;
                }
                if !array_of_displacements.is_null() {
                    *array_of_displacements.add(k) = disp;
                }
            }
        }
        *n = e.elements.len() as c_int;
    }
    unsafe { opt(verbosity, e.verbosity) };
    unsafe { opt(enumtype, MPI_T_ENUM_NULL) };
    unsafe { opt(info, MPI_INFO_NULL) };
    unsafe { opt(bind, e.bind) };
    Ok(())
}

pub(crate) unsafe fn t_event_get_index(
    name: *const c_char,
    event_index: *mut c_int,
) -> MpiResult<()> {
    unsafe {
        req(
            event_index,
            "event_index",
            tool::event_index(name_arg(name)?)? as c_int,
        )
    }
}

pub(crate) unsafe fn t_event_handle_alloc(
    event_index: c_int,
    _obj_handle: *mut c_void,
    _info: MPI_Info,
    event_registration: *mut MPI_T_event_registration,
) -> MpiResult<()> {
    if event_registration.is_null() {
        return Err(invalid("event_registration"));
    }
    unsafe {
        opt(
            event_registration,
            handle(tool::event_handle_alloc(event_index)?),
        )
    };
    Ok(())
}

/// A C function pointer argument (null: none).
unsafe fn callback<M, F: Copy>(p: *mut M) -> Option<F> {
    // SAFETY: a non-null pointer the caller passed as a function of type F
    // (F is one of the `Fn_` pointer types, the same size as a pointer).
    (!p.is_null()).then(|| unsafe { std::mem::transmute_copy::<*mut M, F>(&p) })
}

/// A new, empty info object: no info keys are defined for events.
unsafe fn empty_info(info_used: *mut MPI_Info) -> MpiResult<()> {
    unsafe {
        req(
            info_used,
            "info_used",
            crate::core::info::create(crate::core::info::Info::from_pairs(Vec::new())),
        )
    }
}

pub(crate) fn t_event_handle_set_info(
    r: MPI_T_event_registration,
    _info: MPI_Info,
) -> MpiResult<()> {
    tool::event_check(id(r), None)
}

pub(crate) unsafe fn t_event_handle_get_info(
    r: MPI_T_event_registration,
    info_used: *mut MPI_Info,
) -> MpiResult<()> {
    tool::event_check(id(r), None)?;
    unsafe { empty_info(info_used) }
}

pub(crate) unsafe fn t_event_register_callback(
    r: MPI_T_event_registration,
    cb_safety: MPI_T_cb_safety,
    _info: MPI_Info,
    user_data: *mut c_void,
    event_cb_function: *mut MPI_T_event_cb_function,
) -> MpiResult<()> {
    let f: Option<Fn_MPI_T_event_cb_function> = unsafe { callback(event_cb_function) };
    tool::event_register(id(r), cb_safety, f, user_data as usize)
}

pub(crate) fn t_event_callback_set_info(
    r: MPI_T_event_registration,
    cb_safety: MPI_T_cb_safety,
    _info: MPI_Info,
) -> MpiResult<()> {
    tool::event_check(id(r), Some(cb_safety))
}

pub(crate) unsafe fn t_event_callback_get_info(
    r: MPI_T_event_registration,
    cb_safety: MPI_T_cb_safety,
    info_used: *mut MPI_Info,
) -> MpiResult<()> {
    tool::event_check(id(r), Some(cb_safety))?;
    unsafe { empty_info(info_used) }
}

pub(crate) unsafe fn t_event_handle_free(
    r: MPI_T_event_registration,
    user_data: *mut c_void,
    free_cb_function: *mut MPI_T_event_free_cb_function,
) -> MpiResult<()> {
    let f: Option<Fn_MPI_T_event_free_cb_function> = unsafe { callback(free_cb_function) };
    tool::event_handle_free(id(r), user_data as usize, f)
}

pub(crate) unsafe fn t_event_set_dropped_handler(
    r: MPI_T_event_registration,
    dropped_cb_function: *mut MPI_T_event_dropped_cb_function,
) -> MpiResult<()> {
    let f: Option<Fn_MPI_T_event_dropped_cb_function> = unsafe { callback(dropped_cb_function) };
    tool::event_set_dropped_handler(id(r), f)
}

/// Copy `bytes` into a caller's buffer.
unsafe fn bytes_out(bytes: &[u8], buffer: *mut c_void) -> MpiResult<()> {
    if buffer.is_null() {
        return Err(invalid("buffer"));
    }
    // SAFETY: the buffer holds the element (or the whole event) per the call.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buffer.cast::<u8>(), bytes.len()) };
    Ok(())
}

pub(crate) unsafe fn t_event_read(
    i: MPI_T_event_instance,
    element_index: c_int,
    buffer: *mut c_void,
) -> MpiResult<()> {
    unsafe { bytes_out(&tool::event_read(id(i), element_index)?, buffer) }
}

pub(crate) unsafe fn t_event_copy(i: MPI_T_event_instance, buffer: *mut c_void) -> MpiResult<()> {
    unsafe { bytes_out(&tool::event_copy(id(i))?, buffer) }
}

pub(crate) unsafe fn t_event_get_timestamp(
    i: MPI_T_event_instance,
    event_timestamp: *mut MPI_Count,
) -> MpiResult<()> {
    unsafe {
        req(
            event_timestamp,
            "event_timestamp",
            tool::event_timestamp(id(i))?,
        )
    }
}

pub(crate) unsafe fn t_event_get_source(
    i: MPI_T_event_instance,
    source_index: *mut c_int,
) -> MpiResult<()> {
    unsafe { req(source_index, "source_index", tool::event_source(id(i))?) }
}
