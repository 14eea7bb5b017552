"""fastnn.reference: the numpy twin of every native kernel in fastnn.ops.

Same function names, same signatures, same validation and errors; written for
clarity with plain numpy. It is the oracle in the tests and the baseline in the
benchmarks.
"""

# mypy: implicit-reexport
# (the names imported below are public: __all__ is built from KERNELS at import time,
# which mypy cannot follow)

from __future__ import annotations

from .._kernels import KERNELS
from .activations import *  # noqa: F401,F403
from .activations import ACTIVATIONS
from .dense import dense_backward, dense_forward
from .conv import col2im, conv2d_backward, conv2d_forward, conv2d_pooled_backward, im2col
from .pool import (
    avgpool2d_backward,
    avgpool2d_forward,
    global_avgpool_backward,
    global_avgpool_forward,
    maxpool2d_backward,
    maxpool2d_forward,
    time_avgpool_backward,
    time_avgpool_forward,
)
from .batchnorm import batchnorm_backward, batchnorm_forward
from .layernorm import layernorm_backward, layernorm_forward
from .residual import residual_add
from .recurrent import recurrent_backward, recurrent_forward
from .embedding import embedding_backward, embedding_forward
from .dropout import dropout_backward, dropout_forward
from .matmul import gemm
from .losses import LOSSES, binary_cross_entropy, mse, softmax_cross_entropy
from .optimizers import (
    adam_update,
    adamw_update,
    clip_grad_norm,
    rmsprop_update,
    sgd_update,
)

__all__ = [name for family in KERNELS.values() for name in family] + ["ACTIVATIONS", "LOSSES"]
