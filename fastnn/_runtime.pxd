# Contract of fastnn._runtime for other Cython modules: the thread budget that every
# native kernel receives as its n_threads argument.

cdef int current_num_threads() noexcept nogil
