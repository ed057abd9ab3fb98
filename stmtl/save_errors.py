"""Save errors: a write that fails, whatever library raised it, becomes one ``OSError`` naming the folder and cause.

A full disk reaches a save in several guises: ``OSError`` 28 from ``open``/``write``; safetensors'
``SafetensorError`` (``Error while serializing: I/O error: No space left on device (os error 28)``), which also
deletes its partial file, so the disk looks far from full afterwards; and the ``RuntimeError`` of ``torch.save``'s
zip writer (``unexpected pos ...``), which names neither the cause nor the file. :func:`save_error` reads the cause
in this order:

1. **An errno**, from an ``OSError`` in the error's ``raise ... from`` chain or from its message (Rust's I/O errors
   print ``(os error 28)``, Python's ``[Errno 28]``). ``ENOSPC``/``EDQUOT`` are a full disk or quota; any other errno
   (a read-only filesystem, a permission) is reported with its own description.
2. **A writer's failure without an errno** (``torch.save``): a full disk when the filesystem has less free space
   than what the save still had to write (``expected_bytes`` less what the staging folder already holds; nothing
   when unknown) plus one block; else a write failure quoting the writer. A threshold on free space alone would
   miss both cases seen: a 90 MB file fails with 60 MB free, and a writer that removes its partial file leaves the
   space it had taken free again.

Anything else (a bug, an interrupt) passes through as it was raised. The original error stays chained (``--debug``
shows it).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
_ERRNO_TEXT = re.compile(r"\(os error (\d+)\)|\[Errno (\d+)\]|Os \{ code: (\d+)")
"""How an errno appears in a message: Rust's ``io::Error`` (display and debug forms) and Python's ``OSError``."""
_WRITER_FAILED = re.compile(r"unexpected pos|PytorchStreamWriter failed|file write failed")
"""``torch.save``'s zip writer (``caffe2/serialize/inline_container.cc``) when a write comes up short."""


class SaveError(OSError):
    """A save that failed: ``filename`` is the folder being written, ``strerror`` the cause, ``errno`` its errno."""

    def __str__(self) -> str:
        return f"{self.filename}: cannot save: {self.strerror}"


def size_text(size: int) -> str:
    """A byte count for messages: ``512 bytes``, ``40.0 kB``, ``90.9 MB``."""
    if size < 1000:
        return f"{size} bytes"
    return f"{size / 1e3:.1f} kB" if size < 1_000_000 else f"{size / 1e6:.1f} MB"


def folder_bytes(folder: str | os.PathLike) -> int:
    """The apparent size of the regular files under ``folder`` (0 if it is gone)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def tensor_bytes(value: Any) -> int:
    """The bytes of the tensors and arrays in ``value`` (nested dicts, lists, tuples), each counted once: about what
    saving ``value`` (a state dict, an optimizer's) writes."""
    seen: set[tuple[int, int]] = set()
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (dict, list, tuple)):
            stack.extend(item.values() if isinstance(item, dict) else item)
            continue
        if callable(getattr(item, "element_size", None)):  # a torch tensor
            key = (item.data_ptr(), item.numel() * item.element_size())
        elif isinstance(getattr(item, "nbytes", None), int):  # a NumPy array
            key = (id(item), item.nbytes)
        else:
            continue
        if key not in seen:
            seen.add(key)
            total += key[1]
    return total


def _errno_of(error: BaseException) -> int | None:
    """The errno of ``error`` or of an error it was raised from, if any of them carries one."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno:
            return current.errno
        if match := _ERRNO_TEXT.search(str(current)):
            return int(next(group for group in match.groups() if group))
        current = current.__cause__
    return None


def free_space(path: str) -> tuple[int, int] | None:
    """Bytes an unprivileged user may still write on the filesystem of ``path``, and its block size."""
    folder = path
    while folder and not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    try:
        stats = os.statvfs(folder or ".")
    except (OSError, AttributeError):  # the filesystem cannot tell, or no statvfs (Windows)
        try:
            return shutil.disk_usage(folder or ".").free, 4096
        except OSError:
            return None
    return stats.f_bavail * stats.f_frsize, stats.f_frsize or 4096


def save_error(
    error: BaseException, path: str | os.PathLike, staging: str | os.PathLike | None = None,
    expected_bytes: int | None = None,
) -> SaveError | None:  # fmt: skip
    """The :class:`SaveError` to raise (``from error``) for a write into ``path`` that raised ``error``, or ``None``
    for an error that is no write failure (raise it as it is).

    Call it before the staging folder is removed: what it holds counts as written.

    Args:
        error: What the writer raised.
        path: The folder (or file) being saved, named in the message.
        staging: The temporary folder the save was writing into, if any.
        expected_bytes: About how much the whole save writes (its tensors), if known.

    Returns:
        The error naming ``path`` and the cause, or ``None``.
    """
    if isinstance(error, SaveError) or not isinstance(error, Exception):
        return None
    path = os.fspath(path)
    code = _errno_of(error)
    if code is None and not _WRITER_FAILED.search(str(error)):
        return None
    space = free_space(path)
    free = f"{size_text(space[0])} free" if space is not None else "free space unknown"
    needs = f", the save needs about {size_text(expected_bytes)}" if expected_bytes else ""
    if code in DISK_FULL:
        return SaveError(code, f"{os.strerror(code)} ({free}{needs})", path)
    if code is not None:
        return SaveError(code, os.strerror(code) + _other_file(error, staging), path)
    if space is not None:
        written = folder_bytes(staging) if staging is not None else 0
        if space[0] < max(0, (expected_bytes or 0) - written) + space[1]:
            return SaveError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} ({free}{needs})", path)
    message = str(error).strip().splitlines()[0]
    return SaveError(errno.EIO, f"write failed ({message}; {free})", path)


def _other_file(error: BaseException, staging: str | os.PathLike | None) -> str:
    """``: '<file>'`` for an ``OSError`` about a file outside the staging folder (a source being copied)."""
    filename = getattr(error, "filename", None)
    if not isinstance(filename, (str, bytes, os.PathLike)):
        return ""
    filename = os.fsdecode(filename)
    if staging is not None and os.path.abspath(filename).startswith(os.path.abspath(os.fspath(staging)) + os.sep):
        return ""
    return f": {filename!r}"


@contextmanager
def reporting(
    path: str | os.PathLike, staging: str | os.PathLike | None = None, expected_bytes: int | None = None
) -> Iterator[None]:
    """Raise a write failure inside the block as the :class:`SaveError` of :func:`save_error`, chained.

    Raises:
        SaveError: Naming ``path`` and the cause.
    """
    try:
        yield
    except BaseException as error:
        reported = save_error(error, path, staging, expected_bytes)
        if reported is None:
            raise
        raise reported from error
