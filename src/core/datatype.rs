//! Datatypes. Today: the predefined types of the MPICH ABI, which describe
//! contiguous elements whose size MPICH encodes in the handle (bits 8-15).
//! Derived types and the pair types with padding come with the datatype
//! engine; until then they are reported as unsupported, never mis-sent.

use super::error::{MpiError, MpiResult};
use crate::abi::consts::*;
use crate::abi::types::MPI_Datatype;

/// Every predefined datatype whose elements are contiguous, with its name.
const CONTIGUOUS: &[(MPI_Datatype, &str)] = &[
    (MPI_CHAR, "MPI_CHAR"),
    (MPI_SIGNED_CHAR, "MPI_SIGNED_CHAR"),
    (MPI_UNSIGNED_CHAR, "MPI_UNSIGNED_CHAR"),
    (MPI_BYTE, "MPI_BYTE"),
    (MPI_WCHAR, "MPI_WCHAR"),
    (MPI_SHORT, "MPI_SHORT"),
    (MPI_UNSIGNED_SHORT, "MPI_UNSIGNED_SHORT"),
    (MPI_INT, "MPI_INT"),
    (MPI_UNSIGNED, "MPI_UNSIGNED"),
    (MPI_LONG, "MPI_LONG"),
    (MPI_UNSIGNED_LONG, "MPI_UNSIGNED_LONG"),
    (MPI_FLOAT, "MPI_FLOAT"),
    (MPI_DOUBLE, "MPI_DOUBLE"),
    (MPI_LONG_DOUBLE, "MPI_LONG_DOUBLE"),
    (MPI_LONG_LONG_INT, "MPI_LONG_LONG_INT"),
    (MPI_UNSIGNED_LONG_LONG, "MPI_UNSIGNED_LONG_LONG"),
    (MPI_PACKED, "MPI_PACKED"),
    (MPI_2INT, "MPI_2INT"),
    (MPI_COMPLEX, "MPI_COMPLEX"),
    (MPI_DOUBLE_COMPLEX, "MPI_DOUBLE_COMPLEX"),
    (MPI_LOGICAL, "MPI_LOGICAL"),
    (MPI_REAL, "MPI_REAL"),
    (MPI_DOUBLE_PRECISION, "MPI_DOUBLE_PRECISION"),
    (MPI_INTEGER, "MPI_INTEGER"),
    (MPI_2INTEGER, "MPI_2INTEGER"),
    (MPI_2REAL, "MPI_2REAL"),
    (MPI_2DOUBLE_PRECISION, "MPI_2DOUBLE_PRECISION"),
    (MPI_CHARACTER, "MPI_CHARACTER"),
    (MPI_REAL4, "MPI_REAL4"),
    (MPI_REAL8, "MPI_REAL8"),
    (MPI_REAL16, "MPI_REAL16"),
    (MPI_COMPLEX8, "MPI_COMPLEX8"),
    (MPI_COMPLEX16, "MPI_COMPLEX16"),
    (MPI_COMPLEX32, "MPI_COMPLEX32"),
    (MPI_INTEGER1, "MPI_INTEGER1"),
    (MPI_INTEGER2, "MPI_INTEGER2"),
    (MPI_INTEGER4, "MPI_INTEGER4"),
    (MPI_INTEGER8, "MPI_INTEGER8"),
    (MPI_REAL2, "MPI_REAL2"),
    (MPI_COMPLEX4, "MPI_COMPLEX4"),
    (MPI_LOGICAL1, "MPI_LOGICAL1"),
    (MPI_LOGICAL2, "MPI_LOGICAL2"),
    (MPI_LOGICAL4, "MPI_LOGICAL4"),
    (MPI_LOGICAL8, "MPI_LOGICAL8"),
    (MPI_LOGICAL16, "MPI_LOGICAL16"),
    (MPI_INT8_T, "MPI_INT8_T"),
    (MPI_INT16_T, "MPI_INT16_T"),
    (MPI_INT32_T, "MPI_INT32_T"),
    (MPI_INT64_T, "MPI_INT64_T"),
    (MPI_UINT8_T, "MPI_UINT8_T"),
    (MPI_UINT16_T, "MPI_UINT16_T"),
    (MPI_UINT32_T, "MPI_UINT32_T"),
    (MPI_UINT64_T, "MPI_UINT64_T"),
    (MPI_C_BOOL, "MPI_C_BOOL"),
    (MPI_C_FLOAT_COMPLEX, "MPI_C_FLOAT_COMPLEX"),
    (MPI_C_DOUBLE_COMPLEX, "MPI_C_DOUBLE_COMPLEX"),
    (MPI_C_LONG_DOUBLE_COMPLEX, "MPI_C_LONG_DOUBLE_COMPLEX"),
    (MPIX_C_FLOAT16, "MPIX_C_FLOAT16"),
    (MPI_AINT, "MPI_AINT"),
    (MPI_OFFSET, "MPI_OFFSET"),
    (MPI_COUNT, "MPI_COUNT"),
    (MPI_CXX_BOOL, "MPI_CXX_BOOL"),
    (MPI_CXX_FLOAT_COMPLEX, "MPI_CXX_FLOAT_COMPLEX"),
    (MPI_CXX_DOUBLE_COMPLEX, "MPI_CXX_DOUBLE_COMPLEX"),
    (MPI_CXX_LONG_DOUBLE_COMPLEX, "MPI_CXX_LONG_DOUBLE_COMPLEX"),
    (MPI_FLOAT_INT, "MPI_FLOAT_INT"),
];

/// The pair types whose C struct has padding: not contiguous.
const PADDED: &[(MPI_Datatype, &str)] = &[
    (MPI_DOUBLE_INT, "MPI_DOUBLE_INT"),
    (MPI_LONG_INT, "MPI_LONG_INT"),
    (MPI_SHORT_INT, "MPI_SHORT_INT"),
    (MPI_LONG_DOUBLE_INT, "MPI_LONG_DOUBLE_INT"),
    (MPI_LB, "MPI_LB"),
    (MPI_UB, "MPI_UB"),
];

/// The name of a predefined datatype (`MPI_Type_get_name`).
pub fn predefined_name(dt: MPI_Datatype) -> Option<&'static str> {
    CONTIGUOUS
        .iter()
        .chain(PADDED)
        .find(|(h, _)| *h == dt)
        .map(|(_, n)| *n)
}

/// Size in bytes of one element of `dt`, for the datatypes messages can
/// carry today.
pub fn element_size(dt: MPI_Datatype) -> MpiResult<usize> {
    if dt == MPI_DATATYPE_NULL {
        return Err(MpiError::new(
            MPI_ERR_TYPE,
            "MPI_DATATYPE_NULL is not a valid datatype here",
        ));
    }
    if dt == MPI_FLOAT_INT {
        return Ok(8);
    }
    if CONTIGUOUS.iter().any(|(h, _)| *h == dt) {
        return Ok(((dt as u32 >> 8) & 0xff) as usize);
    }
    if [
        MPI_DOUBLE_INT,
        MPI_LONG_INT,
        MPI_SHORT_INT,
        MPI_LONG_DOUBLE_INT,
        MPI_LB,
        MPI_UB,
    ]
    .contains(&dt)
        || crate::handles::kind_of(dt) == crate::handles::Kind::Datatype as u32
            && !crate::handles::is_builtin(dt)
    {
        return Err(MpiError::new(
            MPI_ERR_UNSUPPORTED_OPERATION,
            format!(
                "datatype 0x{dt:x} is not supported by this version of OxMPI (derived and padded datatypes come with the datatype engine)"
            ),
        ));
    }
    Err(MpiError::new(
        MPI_ERR_TYPE,
        format!("invalid datatype 0x{dt:x}"),
    ))
}

/// Bytes of `count` elements of `dt`, checking the count.
pub fn message_bytes(count: i64, dt: MPI_Datatype) -> MpiResult<usize> {
    if count < 0 {
        return Err(MpiError::new(
            MPI_ERR_COUNT,
            format!("negative count {count}"),
        ));
    }
    if count == 0 {
        // No element is touched, so (as in MPICH) the datatype is not checked.
        return Ok(0);
    }
    let size = element_size(dt)?;
    (count as usize)
        .checked_mul(size)
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or_else(|| MpiError::new(MPI_ERR_COUNT, format!("count {count} is too large")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_come_from_the_handle() {
        assert_eq!(element_size(MPI_INT).unwrap(), 4);
        assert_eq!(element_size(MPI_DOUBLE).unwrap(), 8);
        assert_eq!(element_size(MPI_C_LONG_DOUBLE_COMPLEX).unwrap(), 32);
        assert_eq!(element_size(MPI_FLOAT_INT).unwrap(), 8);
        assert_eq!(
            element_size(MPI_DATATYPE_NULL).unwrap_err().code,
            MPI_ERR_TYPE
        );
        assert_eq!(element_size(0x4c00ff77).unwrap_err().code, MPI_ERR_TYPE);
        assert_eq!(
            element_size(MPI_DOUBLE_INT).unwrap_err().code,
            MPI_ERR_UNSUPPORTED_OPERATION
        );
        assert_eq!(message_bytes(-1, MPI_INT).unwrap_err().code, MPI_ERR_COUNT);
        assert_eq!(message_bytes(3, MPI_SHORT).unwrap(), 6);
    }
}
