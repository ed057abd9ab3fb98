"""Atomic writes: a model or checkpoint folder is either complete or absent, never half-written.

Both helpers stage files in a temporary folder, fsync them, and move them into place with ``modules.json`` last
(a folder being replaced loses it first), so any folder with a ``modules.json`` holds a complete model.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

MARKERS = ("modules.json", "trainer_state.json")
"""Files whose presence marks a complete model or checkpoint; removed first when a folder is replaced."""


@contextmanager
def _staging(parent: str, name: str) -> Iterator[str]:
    """A temporary folder in ``parent``; its files are fsynced on success, the folder removed on error."""
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent)
    os.chmod(staging, 0o755)
    try:
        yield staging
        for root, _, files in os.walk(staging):
            for file_name in files:
                with open(os.path.join(root, file_name), "rb") as handle:
                    os.fsync(handle.fileno())
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _remove_markers(folder: str) -> None:
    for marker in MARKERS:
        if os.path.exists(os.path.join(folder, marker)):
            os.remove(os.path.join(folder, marker))


@contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[str]:
    """Write a folder in a temporary sibling, then rename it into place.

    On error the temporary folder is removed and ``path`` keeps its previous content. An existing ``path`` is
    moved aside and deleted only once the new folder is in place. Whenever the process is killed, ``path`` or a
    ``.old-`` sibling holds a complete folder.

    Args:
        path: The final folder.

    Yields:
        The temporary folder to write into.
    """
    path = os.path.abspath(os.fspath(path))
    parent, name = os.path.split(path)
    with _staging(parent, name) as staging:
        yield staging
    previous = None
    if os.path.lexists(path):
        previous = tempfile.mkdtemp(prefix=f".{name}.old-", dir=parent)
        os.rmdir(previous)
        os.rename(path, previous)
    os.rename(staging, path)
    if previous is not None:
        _remove_markers(previous)
        shutil.rmtree(previous, ignore_errors=True)


@contextmanager
def atomic_files(folder: str | os.PathLike) -> Iterator[str]:
    """Write files into an existing folder that holds other things too (a run folder: checkpoints, logs).

    The files are written to a staging folder inside ``folder`` and moved in one by one, replacing entries of the
    same name, with ``modules.json`` removed first and moved in last.

    Args:
        folder: The folder that receives the files.

    Yields:
        The temporary folder to write into.
    """
    folder = os.path.abspath(os.fspath(folder))
    with _staging(folder, "model") as staging:
        yield staging
    try:
        _remove_markers(folder)
        for name in sorted(os.listdir(staging), key=lambda entry: entry in MARKERS):
            target = os.path.join(folder, name)
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target)
            os.replace(os.path.join(staging, name), target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
