/* Parts of the MPICH ABI that C expresses and Rust signatures cannot:
 * function-pointer sentinels, data objects, variadic prototypes and the
 * macro form of the integer-handle conversions. */

/* Attribute copy/delete callbacks: null and duplicating versions. */
int MPIR_Dup_fn(MPI_Comm oldcomm, int keyval, void *extra_state, void *attribute_val_in,
                void *attribute_val_out, int *flag);
#define MPI_NULL_COPY_FN        ((MPI_Copy_function *)0)
#define MPI_NULL_DELETE_FN      ((MPI_Delete_function *)0)
#define MPI_DUP_FN              MPIR_Dup_fn
#define MPI_COMM_NULL_COPY_FN   ((MPI_Comm_copy_attr_function *)0)
#define MPI_COMM_NULL_DELETE_FN ((MPI_Comm_delete_attr_function *)0)
#define MPI_COMM_DUP_FN         ((MPI_Comm_copy_attr_function *)MPI_DUP_FN)
#define MPI_WIN_NULL_COPY_FN    ((MPI_Win_copy_attr_function *)0)
#define MPI_WIN_NULL_DELETE_FN  ((MPI_Win_delete_attr_function *)0)
#define MPI_WIN_DUP_FN          ((MPI_Win_copy_attr_function *)MPI_DUP_FN)
#define MPI_TYPE_NULL_COPY_FN   ((MPI_Type_copy_attr_function *)0)
#define MPI_TYPE_NULL_DELETE_FN ((MPI_Type_delete_attr_function *)0)
#define MPI_TYPE_DUP_FN         ((MPI_Type_copy_attr_function *)MPI_DUP_FN)
#define MPI_CONVERSION_FN_NULL   ((MPI_Datarep_conversion_function *)0)
#define MPI_CONVERSION_FN_NULL_C ((MPI_Datarep_conversion_function_c *)0)

/* Data objects exported by the library. */
extern MPI_Fint *MPI_F_STATUS_IGNORE;
extern MPI_Fint *MPI_F_STATUSES_IGNORE;
extern MPI_F08_status MPIR_F08_MPI_STATUS_IGNORE_OBJ;
extern MPI_F08_status MPIR_F08_MPI_STATUSES_IGNORE_OBJ[1];
extern int MPIR_F08_MPI_IN_PLACE;
extern int MPIR_F08_MPI_BOTTOM;
extern MPI_F08_status *MPI_F08_STATUS_IGNORE;
extern MPI_F08_status *MPI_F08_STATUSES_IGNORE;
extern int *const MPI_UNWEIGHTED;
extern int *const MPI_WEIGHTS_EMPTY;
extern struct MPIR_T_pvar_handle_s *const MPI_T_PVAR_ALL_HANDLES;

/* Integer handles convert to and from Fortran by value. */
#define MPI_Comm_c2f(h)       ((MPI_Fint)(h))
#define MPI_Comm_f2c(h)       ((MPI_Comm)(h))
#define MPI_Type_c2f(h)       ((MPI_Fint)(h))
#define MPI_Type_f2c(h)       ((MPI_Datatype)(h))
#define MPI_Group_c2f(h)      ((MPI_Fint)(h))
#define MPI_Group_f2c(h)      ((MPI_Group)(h))
#define MPI_Info_c2f(h)       ((MPI_Fint)(h))
#define MPI_Info_f2c(h)       ((MPI_Info)(h))
#define MPI_Request_c2f(h)    ((MPI_Fint)(h))
#define MPI_Request_f2c(h)    ((MPI_Request)(h))
#define MPI_Op_c2f(h)         ((MPI_Fint)(h))
#define MPI_Op_f2c(h)         ((MPI_Op)(h))
#define MPI_Errhandler_c2f(h) ((MPI_Fint)(h))
#define MPI_Errhandler_f2c(h) ((MPI_Errhandler)(h))
#define MPI_Win_c2f(h)        ((MPI_Fint)(h))
#define MPI_Win_f2c(h)        ((MPI_Win)(h))
#define MPI_Message_c2f(h)    ((MPI_Fint)(h))
#define MPI_Message_f2c(h)    ((MPI_Message)(h))
#define MPI_Session_c2f(h)    ((MPI_Fint)(h))
#define MPI_Session_f2c(h)    ((MPI_Session)(h))
#define PMPI_Comm_c2f       MPI_Comm_c2f
#define PMPI_Comm_f2c       MPI_Comm_f2c
#define PMPI_Type_c2f       MPI_Type_c2f
#define PMPI_Type_f2c       MPI_Type_f2c
#define PMPI_Group_c2f      MPI_Group_c2f
#define PMPI_Group_f2c      MPI_Group_f2c
#define PMPI_Info_c2f       MPI_Info_c2f
#define PMPI_Info_f2c       MPI_Info_f2c
#define PMPI_Request_c2f    MPI_Request_c2f
#define PMPI_Request_f2c    MPI_Request_f2c
#define PMPI_Op_c2f         MPI_Op_c2f
#define PMPI_Op_f2c         MPI_Op_f2c
#define PMPI_Errhandler_c2f MPI_Errhandler_c2f
#define PMPI_Errhandler_f2c MPI_Errhandler_f2c
#define PMPI_Win_c2f        MPI_Win_c2f
#define PMPI_Win_f2c        MPI_Win_f2c
#define PMPI_Message_c2f    MPI_Message_c2f
#define PMPI_Message_f2c    MPI_Message_f2c
#define PMPI_Session_c2f    MPI_Session_c2f
#define PMPI_Session_f2c    MPI_Session_f2c

/* printf formats for MPI_Aint (a C long here). */
#define MPI_AINT_FMT_DEC_SPEC "%ld"
#define MPI_AINT_FMT_HEX_SPEC "%lx"

/* The profiling-control call takes optional arguments after the level. */
int MPI_Pcontrol(const int level, ...);
int PMPI_Pcontrol(const int level, ...);
