use super::*;

#[test]
fn sizes_come_from_the_handle() {
    assert_eq!(element_size(MPI_INT).unwrap(), 4);
    assert_eq!(element_size(MPI_DOUBLE).unwrap(), 8);
    assert_eq!(element_size(MPI_C_LONG_DOUBLE_COMPLEX).unwrap(), 32);
    assert_eq!(element_size(MPI_FLOAT_INT).unwrap(), 8);
    assert_eq!(get(MPI_DATATYPE_NULL).err().unwrap().code, MPI_ERR_TYPE);
    assert_eq!(get(0x4c00ff77).err().unwrap().code, MPI_ERR_TYPE);
    assert_eq!(message(-1, MPI_INT).err().unwrap().code, MPI_ERR_COUNT);
    assert_eq!(message(3, MPI_SHORT).unwrap().bytes, 6);
}

#[test]
fn pair_types_have_mpich_layout() {
    let t = get(MPI_DOUBLE_INT).unwrap();
    assert_eq!((t.size(), t.extent(), t.true_ub - t.true_lb), (12, 16, 12));
    let t = get(MPI_SHORT_INT).unwrap();
    assert_eq!((t.size(), t.extent()), (6, 8));
    assert_eq!(t.elements_in(6), Some(2));
    assert_eq!(t.elements_in(2), Some(1));
    assert_eq!(t.elements_in(3), None);
}
