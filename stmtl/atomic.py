"""Atomic writes: a model or checkpoint folder is either complete or absent, never half-written.

Both helpers stage files in a temporary folder, fsync them, give them the usual permissions (``0666``/``0777``
less the umask, as ``open`` and ``mkdir`` would) and move them into place with ``modules.json`` last (a folder
being replaced loses it first), so any folder with a ``modules.json`` holds a complete model. Staging folders are
named ``.<name>.tmp-*`` and folders moved aside ``.<name>.old-*``; :func:`sweep_staging` clears what a killed
process left of them.

A write that fails (a full disk above all) is raised as one :class:`~stmtl.save_errors.SaveError` naming the final
folder and the cause, whatever library raised it (see :mod:`stmtl.save_errors`).
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from stmtl.save_errors import reporting

MARKERS = ("modules.json", "trainer_state.json")
"""Files whose presence marks a complete model or checkpoint; removed first when a folder is replaced."""
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-[^.]+$")
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def default_mode(directory: bool) -> int:
    """The mode ``mkdir`` (``directory``) or ``open`` gives a new entry under the current umask."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


@contextmanager
def _staging(parent: str, name: str, path: str, expected_bytes: int | None = None) -> Iterator[str]:
    """A temporary folder in ``parent``; on success its files are fsynced and given the usual permissions.

    A write failure is raised as a ``SaveError`` naming ``path``, the folder being saved.
    """
    with reporting(path):
        os.makedirs(parent, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent)
    try:
        with reporting(path, staging, expected_bytes):  # before the staging folder goes: its files count as written
            yield staging
            file_mode, folder_mode = default_mode(directory=False), default_mode(directory=True)
            for root, folders, files in os.walk(staging):
                os.chmod(root, folder_mode)
                for folder in folders:
                    os.chmod(os.path.join(root, folder), folder_mode)
                for file_name in files:
                    file_path = os.path.join(root, file_name)
                    if not os.path.islink(file_path):
                        os.chmod(file_path, file_mode)
                        with open(file_path, "rb") as handle:
                            os.fsync(handle.fileno())
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _remove_markers(folder: str) -> None:
    for marker in MARKERS:
        if os.path.exists(os.path.join(folder, marker)):
            os.remove(os.path.join(folder, marker))


def _keep_other_files(previous: str, staging: str) -> None:
    """Hard-link (or copy) into ``staging`` every file of ``previous`` that the new content does not replace."""
    for root, _, files in os.walk(previous):
        relative = os.path.relpath(root, previous)
        for file_name in files:
            target = os.path.normpath(os.path.join(staging, relative, file_name))
            if os.path.lexists(target):
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            source = os.path.join(root, file_name)
            try:
                os.link(source, target, follow_symlinks=False)
            except OSError:
                shutil.copy2(source, target, follow_symlinks=False)


def _same_content(a: str, b: str) -> bool:
    with open(a, "rb") as first, open(b, "rb") as second:
        while True:
            chunk = first.read(1 << 20)
            if chunk != second.read(1 << 20):
                return False
            if not chunk:
                return True


def link_identical_files(staging: str | os.PathLike, folders: list[str | os.PathLike]) -> int:
    """Replace each file in ``staging`` by a hard link to a byte-identical file at the same place in one of
    ``folders`` (saved folders that stay complete: earlier checkpoints), so equal weights take their space once.

    Only call it on a staging folder whose writers are done: a later in-place write into a linked file would change
    both names. stmtl's writers never write in place (they replace files); a filesystem without hard links keeps the
    copies.

    Args:
        staging: The folder just written.
        folders: Folders to look for identical files in, in order.

    Returns:
        The bytes no longer stored twice.
    """
    saved = 0
    for root, _, files in os.walk(staging):
        relative = os.path.relpath(root, staging)
        for file_name in files:
            path = os.path.join(root, file_name)
            if os.path.islink(path):
                continue
            size = os.path.getsize(path)
            for folder in folders:
                source = os.path.normpath(os.path.join(folder, relative, file_name))
                if not os.path.isfile(source) or os.path.islink(source) or os.path.getsize(source) != size:
                    continue
                if not _same_content(path, source):
                    continue
                link = f"{path}.link"
                try:
                    os.link(source, link)
                    os.replace(link, path)
                except OSError:  # no hard links here (or too many): keep the copy
                    if os.path.lexists(link):
                        os.remove(link)
                    break
                saved += size
                break
    return saved


def _exchange(a: str, b: str) -> bool:
    """Swap two paths in one step with Linux's ``renameat2(RENAME_EXCHANGE)``; False where that is unavailable."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False  # a filesystem without exchange support: fall back to two renames
    raise OSError(code, os.strerror(code), b)


@contextmanager
def atomic_folder(
    path: str | os.PathLike, keep_other_files: bool = False, expected_bytes: int | None = None
) -> Iterator[str]:
    """Write a folder in a temporary sibling, then swap it into place.

    On error the temporary folder is removed and ``path`` keeps its previous content. Where the system can swap two
    folders in one step (Linux), ``path`` holds the previous or the new folder at every moment; elsewhere the
    previous folder is moved aside first, so a kill between the two renames leaves it in a ``.old-`` sibling (which
    :func:`sweep_staging` moves back).

    Args:
        path: The final folder.
        keep_other_files: Keep the files of an existing ``path`` that the new content does not replace (as
            sentence-transformers' own ``save`` does); they are hard-linked, so nothing is copied.
        expected_bytes: About how much the content takes (its tensors): a write failure that gives no cause is
            reported as a full disk when less than what remained to write is free (see :mod:`stmtl.save_errors`).

    Yields:
        The temporary folder to write into.

    Raises:
        SaveError: An ``OSError`` naming ``path`` and the cause when a write fails, whatever library raised it.
    """
    path = os.path.abspath(os.fspath(path))
    parent, name = os.path.split(path)
    with _staging(parent, name, path, expected_bytes) as staging:
        yield staging
    if keep_other_files and os.path.isdir(path):
        try:  # after _staging set permissions: the links share the kept files' inodes and modes
            with reporting(path, staging):
                _keep_other_files(path, staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    with reporting(path):
        _swap_in(staging, path)


def _swap_in(staging: str, path: str) -> None:
    """Put the complete ``staging`` folder in place of ``path``."""
    parent, name = os.path.split(path)
    if os.path.lexists(path) and _exchange(staging, path):
        _remove_markers(staging)  # now the previous folder: never leave it half-deleted with its markers
        shutil.rmtree(staging, ignore_errors=True)
        return
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
def atomic_files(folder: str | os.PathLike, expected_bytes: int | None = None) -> Iterator[str]:
    """Write files into an existing folder that holds other things too (a run folder: checkpoints, logs).

    The files are written to a staging folder inside ``folder`` and moved in one by one, replacing entries of the
    same name, with ``modules.json`` removed first and moved in last.

    Args:
        folder: The folder that receives the files.
        expected_bytes: About how much the files take, as for :func:`atomic_folder`.

    Yields:
        The temporary folder to write into.

    Raises:
        SaveError: An ``OSError`` naming ``folder`` and the cause when a write fails, whatever library raised it.
    """
    folder = os.path.abspath(os.fspath(folder))
    with _staging(folder, "model", folder, expected_bytes) as staging:
        yield staging
    try:
        with reporting(folder):
            _remove_markers(folder)
            for name in sorted(os.listdir(staging), key=lambda entry: entry in MARKERS):
                target = os.path.join(folder, name)
                if os.path.isdir(target) and not os.path.islink(target):
                    shutil.rmtree(target)
                os.replace(os.path.join(staging, name), target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def sweep_staging(folder: str | os.PathLike) -> list[str]:
    """Remove the staging (``.*.tmp-*``) and moved-aside (``.*.old-*``) entries a killed writer left in ``folder``.

    A moved-aside folder whose final name is missing and that is complete (it has a marker file) is moved back
    instead: it is the only copy. Only call this while no other process writes into ``folder`` (hold the run lock).

    Args:
        folder: The folder to clean.

    Returns:
        The names removed or restored.
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        return []
    swept = []
    for entry in sorted(os.listdir(folder)):
        match = _LEFTOVER.match(entry)
        if match is None:
            continue
        path, final = os.path.join(folder, entry), os.path.join(folder, match["name"])
        complete = any(os.path.exists(os.path.join(path, marker)) for marker in MARKERS)
        if match["kind"] == "old" and complete and not os.path.lexists(final):
            os.rename(path, final)
        elif os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.remove(path)
        swept.append(entry)
    return swept
