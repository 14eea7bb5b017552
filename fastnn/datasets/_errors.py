"""The datasets package's exception."""

from __future__ import annotations

import os

from ..errors import FastnnError

__all__ = ["DatasetError"]


class DatasetError(FastnnError, ValueError):
    """A dataset file that fastnn cannot use: truncated, corrupted (bad gzip stream or
    CRC, wrong SHA-256), not in the expected format, or missing. ``path`` names the file
    (or the directory searched) when there is one."""

    def __init__(self, message: str, path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(message)
        self.path = None if path is None else str(path)
