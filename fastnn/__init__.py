"""fastnn: neural networks with Cython/C hot paths and a numpy twin of every kernel.

    fastnn.ops          native kernels (gemm, dense, activations, losses, optimizers)
    fastnn.reference    the same functions in plain numpy (the oracle and the baseline)
    fastnn.set_num_threads / get_num_threads   one thread budget for OpenMP and BLAS
    fastnn.show_config  how this build was made and what it runs on

    fastnn.Sequential, layers (Dense, ReLU, ..., Dropout, Flatten, Conv2D, MaxPool2D,
    BatchNorm, LayerNorm, Residual, ...), optimizers (SGD, Adam,
    AdamW, RMSprop), callbacks (EarlyStopping, StepDecay, ...), fastnn.load: the model API
    fastnn.register_layer   makes a custom Layer subclass saveable (fastnn.layers_custom)
    fastnn.metrics      accuracy, f1, roc_auc, r2, ... as numpy functions
    fastnn.export_onnx  a model as an ONNX file (needs the onnx package)
"""

from . import _scipy_blas

_scipy_blas.load()  # before anything imports fastnn's native modules

from ._config import config_context, get_config, set_config  # noqa: E402
from ._info import show_config
from ._threads import get_num_threads, set_num_threads
from ._version import __version__
from . import ops, reference  # noqa: E402  (ops loads SciPy's BLAS)

_scipy_blas.release()

from . import datasets, metrics
from .callbacks import (
    Callback,
    CosineDecay,
    CSVLogger,
    EarlyStopping,
    ExponentialDecay,
    History,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    StepDecay,
    TerminateOnNaN,
)
from .errors import (
    FastnnError,
    LayerImplementationError,
    ModelFileError,
    TrainingDivergedError,
)
from .layers import (
    ELU,
    GELU,
    Activation,
    Dense,
    Dropout,
    Flatten,
    Identity,
    Layer,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from .layers_block import BatchNorm, LayerNorm, Residual
from .layers_custom import register_layer
from .layers_conv import (
    AvgPool1D,
    AvgPool2D,
    Conv1D,
    Conv2D,
    GlobalAvgPool,
    MaxPool1D,
    MaxPool2D,
    Reshape,
)
from .layers_recurrent import (
    GRU,
    LSTM,
    Bidirectional,
    SimpleRNN,
    TimeAvgPool,
    TimeDistributed,
)
from .layers_sequence import Embedding
from .losses import MSE, BinaryCrossEntropy, CrossEntropy, SquaredError
from .model import Sequential
from .optimizers import SGD, Adam, AdamW, RMSprop
from .saving import load
from .export import export_onnx

__all__ = [
    "__version__",
    "ops",
    "datasets",
    "metrics",
    "reference",
    "set_num_threads",
    "get_num_threads",
    "show_config",
    "get_config",
    "set_config",
    "config_context",
    "Sequential",
    "Layer",
    "register_layer",
    "Dense",
    "Activation",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "LeakyReLU",
    "ELU",
    "GELU",
    "Softmax",
    "LogSoftmax",
    "Identity",
    "Dropout",
    "Flatten",
    "Reshape",
    "Conv1D",
    "Conv2D",
    "MaxPool1D",
    "MaxPool2D",
    "AvgPool1D",
    "AvgPool2D",
    "GlobalAvgPool",
    "BatchNorm",
    "LayerNorm",
    "Residual",
    "SimpleRNN",
    "GRU",
    "LSTM",
    "Bidirectional",
    "TimeDistributed",
    "TimeAvgPool",
    "Embedding",
    "CrossEntropy",
    "MSE",
    "BinaryCrossEntropy",
    "SquaredError",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "History",
    "Callback",
    "EarlyStopping",
    "StepDecay",
    "ExponentialDecay",
    "CosineDecay",
    "LearningRateScheduler",
    "ReduceLROnPlateau",
    "ModelCheckpoint",
    "CSVLogger",
    "TerminateOnNaN",
    "load",
    "export_onnx",
    "FastnnError",
    "ModelFileError",
    "TrainingDivergedError",
    "LayerImplementationError",
]
