# Contract of fastnn._runtime for other Cython modules: the thread budget that every
# native kernel receives as its n_threads argument, and the one CPU description
# (src_c/cpu.h) that every module's dispatch tables read.

cdef extern from "cpu.h" nogil:
    ctypedef struct fnn_cpu:
        pass
    void fnn_cpu_bind(fnn_cpu *shared)

cdef int current_num_threads() noexcept nogil

# The CPU state this module owns; a module that links kernels binds to it at import:
#     fnn_cpu_bind(shared_cpu())
cdef fnn_cpu *shared_cpu() noexcept nogil
