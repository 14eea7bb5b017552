"""SciPy's BLAS pointers without SciPy's linear-algebra Python layer.

fastnn's native modules take BLAS from ``scipy.linalg.cython_blas`` (cimported: the
function pointers are read from the module's ``__pyx_capi__`` when a module that uses them
is imported). Importing that module the usual way first runs ``scipy/linalg/__init__.py``,
which imports SciPy's array-API layer, ``numpy.testing`` and more: about 0.2 s, most of
``import fastnn``. ``load()`` loads the extension module from its file under its own name
instead, for the time fastnn's native modules take their pointers (``release()`` then
takes it out of ``sys.modules`` again), so ``scipy.linalg`` is imported only if the
program asks for it. Importing ``scipy.linalg.cython_blas`` later goes the ordinary way
and gets the same module object (a Cython module is initialised once per process).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys

NAME = "scipy.linalg.cython_blas"


_loaded = False


def load() -> None:
    """Put SciPy's cython_blas in sys.modules unless it is there already. Any surprise
    (a SciPy laid out otherwise) leaves it to the ordinary import."""
    global _loaded
    if NAME in sys.modules or "scipy.linalg" in sys.modules:
        return
    try:
        spec = importlib.util.find_spec("scipy")
        if spec is None or spec.origin is None:
            return
        directory = os.path.join(os.path.dirname(spec.origin), "linalg")
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(directory, "cython_blas" + suffix)
            if os.path.isfile(path):
                break
        else:
            return
        spec = importlib.util.spec_from_file_location(NAME, path)
        if spec is None or spec.loader is None:
            return
        module = importlib.util.module_from_spec(spec)
        sys.modules[NAME] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[NAME]
            raise
        _loaded = True
    except (ImportError, OSError, AttributeError, TypeError):
        return


def release() -> None:
    """Take the module ``load`` put in sys.modules out again (once fastnn's native modules
    hold their pointers), so that a later import of scipy.linalg's submodule binds it to
    its package as usual."""
    global _loaded
    if _loaded:
        sys.modules.pop(NAME, None)
        _loaded = False
