"""The one error type the dataset readers raise: a message tied to a file and, where known, a line."""

from __future__ import annotations

import os
from typing import Any


class DataError(ValueError):
    """A problem in a data source, reported as ``path:line: message`` on one line.

    Attributes:
        message: What is wrong, without the location prefix.
        path: The file or folder at fault, or ``None`` when there is none (an in-memory dataset).
        line: The 1-based line number at fault, or ``None`` when the problem is not tied to one line.
    """

    def __init__(self, message: str, path: str | os.PathLike | None = None, line: int | None = None) -> None:
        """Builds the error.

        Args:
            message: What is wrong.
            path: The file or folder at fault, if any.
            line: The 1-based line number at fault, if any; only shown when ``path`` is given.
        """
        self.message = message
        self.path = path
        self.line = line
        super().__init__(self._format())

    def _format(self) -> str:
        # Newlines inside the message are folded so the error always prints as one line.
        message = " ".join(self.message.splitlines())
        if self.path is None:
            return message
        location = os.fspath(self.path)
        if self.line is not None:
            location = f"{location}:{self.line}"
        return f"{location}: {message}"

    def __str__(self) -> str:
        return self._format()

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle with the original arguments; the default would pass the formatted text back in as the message.
        return (type(self), (self.message, self.path, self.line))
