#!/usr/bin/env python3
"""fastnn's version, the one place it is written (the build reads it: meson.build)."""

__version__ = "0.1.0"

if __name__ == "__main__":
    print(__version__)
