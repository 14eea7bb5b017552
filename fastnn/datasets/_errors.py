"""The datasets package's exception."""

from ..errors import FastnnError

__all__ = ["DatasetError"]


class DatasetError(FastnnError, ValueError):
    """A dataset file that fastnn cannot use: truncated, corrupted (bad gzip stream or
    CRC, wrong SHA-256), not in the expected format, or missing. ``path`` names the file
    (or the directory searched) when there is one."""

    def __init__(self, message, path=None):
        super().__init__(message)
        self.path = None if path is None else str(path)
