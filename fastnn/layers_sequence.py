"""Layers for sequences of tokens: Embedding.

``Embedding(num_embeddings, embedding_dim)`` maps integer indices (token ids, category
codes) to the rows of a learned table ``weight`` (num_embeddings, embedding_dim), as
PyTorch's ``nn.Embedding`` does (same parameter name and shape, so weights copy over
either way): a batch of index sequences (N, T) becomes (N, T, embedding_dim). The work
is ``ops.embedding_forward`` / ``ops.embedding_backward`` and their numpy twins.

    model = Sequential([Embedding(10_000, 32), Flatten(), Dense(2)])
    model.fit(token_ids, labels)          # token_ids: integer array (N, T)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import _inputs
from ._validation import integer
from .layers import LAYERS, Layer, _check_init, _fmt_shape, _initialize

__all__ = ["Embedding"]

# "normal" for an embedding table is N(0, 1), PyTorch's initialization of nn.Embedding
# (the other layers' "normal" has std 0.05).
_NORMAL_STD = 1.0


class Embedding(Layer):
    """A lookup table: index ``i`` -> row ``weight[i]`` of the parameter ``weight``
    (num_embeddings, embedding_dim). Input: indices (N, ...) -- an integer array, or
    floats holding whole numbers -- each in [0, num_embeddings); output (N, ...,
    embedding_dim). It must be the first layer of a model, which then takes integer X;
    there is no gradient with respect to the indices (``backward`` returns None).

    ``padding_idx``: a row that starts at zero and never gets a gradient, so it stays zero
    (the embedding of a padding token); negative values count from the end, as in
    PyTorch. ``embeddings_init``: "normal" (N(0, 1), as PyTorch; ``{"name": "normal",
    "std": s}`` for another scale), "uniform" (+-0.05, or ``{"name": "uniform", "limit":
    a}``), "zeros", "ones", or "he" / "glorot" / "lecun" with fan-in num_embeddings and
    fan-out embedding_dim.

    The gradient ``grads["weight"]`` is dense, (num_embeddings, embedding_dim), nonzero
    only in the rows of the indices of the last batch; optimizers treat ``weight`` as a
    weight (weight decay applies).
    """

    _base_name = "embedding"
    takes_indices = True

    _idx: NDArray[Any] | None

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 embeddings_init: str | dict[str, Any] = "normal", *, name: str | None = None,
                 trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)
        self.num_embeddings = integer("num_embeddings", num_embeddings, lo=1)
        self.embedding_dim = integer("embedding_dim", embedding_dim, lo=1)
        if padding_idx is not None:
            v = self.num_embeddings
            padding_idx = integer("padding_idx", padding_idx)
            if not -v <= padding_idx < v:
                raise ValueError(f"padding_idx must lie in [-{v}, {v}) for {v} embeddings, "
                                 f"got {padding_idx}")
            padding_idx %= v
        self.padding_idx = padding_idx
        self.embeddings_init = _check_init(embeddings_init, "embeddings_init")
        self._idx = None

    def output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        return tuple(input_shape) + (self.embedding_dim,)

    def param_shapes(self, input_shape: Sequence[int]) -> dict[str, tuple[int, ...]]:
        return {"weight": (self.num_embeddings, self.embedding_dim)}

    def _build(self, input_shape: tuple[int, ...], dtype: np.dtype[Any],
               rng: np.random.Generator) -> None:
        spec = self.embeddings_init
        if spec == "normal":
            spec = {"name": "normal", "std": _NORMAL_STD}
        shape = (self.num_embeddings, self.embedding_dim)
        weight = _initialize(spec, shape, shape[0], shape[1], rng, dtype)
        if self.padding_idx is not None:
            weight[self.padding_idx] = 0
        self.params["weight"] = weight

    def check_indices(self, X: NDArray[Any], name: str = "X") -> NDArray[np.intp]:
        if X.ndim < 1:
            raise ValueError(f"{name} must have shape (n_samples, ...) of indices, got a 0-d "
                             "array")
        if X.shape[0] == 0:
            raise ValueError(f"{name} is empty (0 rows)")
        return _inputs.indices_input(name, X, self.num_embeddings)

    def forward(self, x: NDArray[Any], training: bool = False) -> NDArray[Any]:
        """Embeddings (N, ..., embedding_dim) of the indices ``x`` (N, ...). Builds the
        layer at first use from ``x.shape[1:]``, in float32 (``build(shape, np.float64)``
        first for float64)."""
        if not isinstance(x, np.ndarray):
            raise TypeError(f"x must be a numpy.ndarray, got {type(x).__name__}")
        if not self.built:
            if x.ndim < 1:
                raise ValueError("x must have a batch dimension, got a 0-d array")
            self.build(x.shape[1:])
        assert self.input_shape is not None  # built above
        if x.shape[1:] != self.input_shape:
            raise ValueError(
                f"{self.name} was built for inputs of shape "
                f"{_fmt_shape(('N',) + self.input_shape)} but x has shape {_fmt_shape(x.shape)}"
            )
        return self._forward(x, training)

    def _forward(self, x: NDArray[Any], training: bool) -> NDArray[Any]:
        out = self._buffer("y", x.shape + (self.embedding_dim,))
        y: NDArray[Any] = self._ops.embedding_forward(x, self.params["weight"], out=out)
        self._idx = x
        return y

    def backward(self, dy: NDArray[Any]) -> NDArray[Any] | None:
        """Fills ``grads["weight"]`` from dL/dy of the last forward batch; returns None
        (indices have no gradient)."""
        self._check_forwarded("_idx")
        self._ops.embedding_backward(np.ascontiguousarray(dy), self._idx, self.num_embeddings,
                                     dweight=self.grads["weight"],
                                     padding_idx=self.padding_idx)
        return None

    def plan_steps(self, trainable: bool = True) -> list[dict[str, Any]] | None:
        assert self.dtype is not None  # built
        if self.num_embeddings > 2 ** (np.finfo(self.dtype).nmant + 1):
            return None  # the plan reads the indices in the model's float dtype
        return [{"kind": "embedding", "vocab": self.num_embeddings, "dim": self.embedding_dim,
                 "W": self.params["weight"], "dW": self.grads["weight"],
                 "padding_idx": self.padding_idx, "trainable": trainable and self.trainable}]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_embeddings": self.num_embeddings,
            "embedding_dim": self.embedding_dim,
            "padding_idx": self.padding_idx,
            "embeddings_init": self.embeddings_init,
        }

    def _repr_args(self) -> list[str]:
        args = [str(self.num_embeddings), str(self.embedding_dim)]
        if self.padding_idx is not None:
            args.append(f"padding_idx={self.padding_idx}")
        if self.embeddings_init != "normal":
            args.append(f"embeddings_init={self.embeddings_init!r}")
        return args


LAYERS.update({"Embedding": Embedding})
