"""fastnn's own exceptions.

Each one also derives from the built-in exception a caller would expect, so code that
catches ``ValueError`` or ``FloatingPointError`` keeps working:

    FastnnError               base class of the errors below
    ModelFileError            (ValueError) a model file that fastnn cannot or will not load
    TrainingDivergedError     (FloatingPointError) the loss became NaN/inf during fit
    LayerImplementationError  (NotImplementedError) a layer lacks a method the model needs
"""

from __future__ import annotations

import os

__all__ = ["FastnnError", "ModelFileError", "TrainingDivergedError", "LayerImplementationError"]


class FastnnError(Exception):
    """Base class of fastnn's own exceptions."""


class ModelFileError(FastnnError, ValueError):
    """A file passed to :func:`fastnn.load` is not a valid fastnn model file: truncated,
    corrupted, of an unsupported format version, a foreign file (including a pickle,
    which fastnn never loads), or inconsistent with its own header. ``path`` names the
    file."""

    def __init__(self, message: str, path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(message)
        self.path = path


class NonFiniteInputError(FastnnError, ValueError):
    """Internal: the fused plan met a row of X holding NaN or inf while training (it
    checks the rows of a fit's first epoch as it reads them). ``row`` is its index. fit
    puts the model back as it was and raises a ValueError naming X's first bad row."""

    def __init__(self, row: int) -> None:
        super().__init__(f"row {row} of X holds NaN or infinity")
        self.row = row


class TrainingDivergedError(FastnnError, FloatingPointError):
    """The training loss became NaN or infinite. ``epoch`` is the 1-based number of the
    epoch where it happened and ``loss`` the value seen; the model's weights (and the
    optimizer's state) were put back as they were after the last good epoch."""

    def __init__(self, message: str, epoch: int | None = None,
                 loss: float | None = None) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.loss = loss


class LayerImplementationError(FastnnError, NotImplementedError):
    """A layer lacks a method the model needs: a custom layer without ``forward``, or
    without ``backward`` where ``fit`` must send the gradient through it (it has trainable
    parameters, or a trainable layer lies below it). ``fit`` raises it before training."""
