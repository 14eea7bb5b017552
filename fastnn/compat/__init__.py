"""Drop-in replacements for the programs of well-known tutorials, running on fastnn.

    fastnn.compat.network     network.py of Michael Nielsen's *Neural Networks and Deep
                              Learning* (chapter 1: sigmoid network, quadratic cost, SGD)
    fastnn.compat.network2    network2.py of the same book (chapter 3: cross-entropy,
                              L2 regularization, monitoring, JSON save / load)

Replace ``import network`` by ``from fastnn.compat import network`` and the book's
programs run unchanged, with the same printed lines and -- for the same seeds -- the
same weights up to float64 rounding, while each training epoch runs natively.
``fastnn.compat._reference`` is the book's algorithm example by example in plain numpy,
the reference the tests and benchmarks/test_compat.py hold these modules against.

``import fastnn`` does not import this package: it is opt-in.
"""

from . import network, network2
from ._engine import BookCodeWarning

__all__ = ["network", "network2", "BookCodeWarning"]
