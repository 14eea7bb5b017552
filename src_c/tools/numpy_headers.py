"""Mirror NumPy's C headers into a folder of the build directory and print its path.

meson.build runs this at configure time and compiles against the mirror instead of
``numpy.get_include()``. pip builds every ``pip install`` in a fresh isolated environment
whose NumPy lives under a new temporary path; compiling against that path would make every
compile command of a reused build directory (``-Cbuild-dir=build``) differ from the last
build's, so ninja would rebuild it all (and meson's cached numpy dependency would point at
the deleted environment). The mirror keeps one path, and a header is rewritten only when its
bytes differ, so ninja rebuilds exactly what a changed NumPy changes.

Usage: python numpy_headers.py DEST
"""

from __future__ import annotations

import os
import sys

import numpy as np


def mirror(src: str, dest: str) -> None:
    """Make ``dest`` hold the same files as ``src``, touching only files that differ."""
    wanted = set()
    for root, _dirs, files in os.walk(src):
        rel = os.path.relpath(root, src)
        os.makedirs(os.path.join(dest, rel), exist_ok=True)
        for name in files:
            s = os.path.join(root, name)
            d = os.path.normpath(os.path.join(dest, rel, name))
            wanted.add(d)
            with open(s, "rb") as f:
                data = f.read()
            try:
                with open(d, "rb") as f:
                    same = f.read() == data
            except OSError:
                same = False
            if not same:
                tmp = d + ".tmp"
                with open(tmp, "wb") as f:
                    f.write(data)
                os.replace(tmp, d)
    for root, _dirs, files in os.walk(dest):  # headers a newer NumPy no longer has
        for name in files:
            path = os.path.normpath(os.path.join(root, name))
            if path not in wanted:
                os.remove(path)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    dest = os.path.abspath(sys.argv[1])
    mirror(np.get_include(), dest)
    print(dest)


if __name__ == "__main__":
    main()
