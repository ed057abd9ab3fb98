"""Atomic folder writes: a model or checkpoint folder is either complete or absent, never half-written."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[str]:
    """Write a folder in a temporary sibling, then rename it into place.

    On error the temporary folder is removed and ``path`` keeps its previous content. An existing ``path`` is
    moved aside and deleted only once the new folder is in place. Whenever the process is killed, ``path`` or a
    ``.old-`` sibling holds a complete folder, and any folder with a ``modules.json`` is complete: a staging folder
    gets it last (sentence-transformers writes it after every module), a folder being deleted loses it first.

    Args:
        path: The final folder.

    Yields:
        The temporary folder to write into.
    """
    path = os.path.abspath(os.fspath(path))
    parent, name = os.path.split(path)
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
    previous = None
    if os.path.lexists(path):
        previous = tempfile.mkdtemp(prefix=f".{name}.old-", dir=parent)
        os.rmdir(previous)
        os.rename(path, previous)
    os.rename(staging, path)
    if previous is not None:
        # modules.json goes first, so a kill during the deletion never leaves a partial folder that looks loadable.
        for marker in ("modules.json", "trainer_state.json"):
            if os.path.exists(os.path.join(previous, marker)):
                os.remove(os.path.join(previous, marker))
        shutil.rmtree(previous, ignore_errors=True)
