"""fastnn._memory: the 64-byte aligned buffers of the training plan and the conv workspaces."""

import numpy as np
import pytest

from fastnn import _memory


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.intp])
@pytest.mark.parametrize("shape", [0, 1, 7, (3, 5), (2, 3, 4)])
def test_aligned_arrays(shape, dtype):
    for _ in range(5):  # numpy alone gives 16-byte alignment: several tries, all aligned
        a = _memory.aligned_zeros(shape, dtype)
        assert a.ctypes.data % 64 == 0 or a.size == 0  # (an empty array's pointer is moot)
        assert a.shape == ((shape,) if isinstance(shape, int) else shape)
        assert a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable
        assert not a.any()
        b = _memory.aligned_empty(shape, dtype, align=128)
        assert (b.ctypes.data % 128 == 0 or b.size == 0) and b.shape == a.shape
