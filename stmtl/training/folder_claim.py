"""Claiming a run folder before anything heavy is imported: the lock, the user's files, a folder a failed run made.

``stmtl train`` claims its folder with :class:`FolderClaim` right after parsing its arguments, before torch,
transformers or datasets load; :func:`stmtl.train` claims it again (through :class:`stmtl.training.run_folder.
RunFolder`), which for the same thread only counts one more holder. So a second ``train`` into a busy folder is
refused at once, not after the imports, the data and the model.

* **Lock.** ``.stmtl.lock`` is held with ``flock`` for the whole run and records the pid and host. Another process
  (or another thread) is refused at once, naming them; the kernel drops the lock when the process ends, so the file
  of a killed run is stale by construction.
* **The user's files.** :func:`unowned_entries` lists what a folder that holds no run holds besides stmtl's own
  files (the lock, staging leftovers, the write probe, a pending ``--overwrite``'s files, step folders under
  ``checkpoints/`` and, next to a stmtl ``run.json``, the logs of a run that failed before its first checkpoint).
  A new run refuses such a folder unless ``--overwrite`` is given.
* **A folder a failed run made.** When the claim that created the folder ends with an error and the folder holds
  nothing worth keeping (:func:`removable`), the folder is removed; a folder that existed before is never removed.

The module imports only the standard library and :mod:`stmtl.jsonio`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from stmtl.config import ConfigError
from stmtl.jsonio import to_json

LOCK_FILE = ".stmtl.lock"
RUN_FILE = "run.json"
CONFIG_FILE = "training_config.json"
METRICS_FILE = "metrics.jsonl"
RESULTS_FILE = "results.json"
PENDING_FILE = ".overwrite.json"
"""Written while an ``--overwrite`` run has no checkpoint yet: its id, its config, whether metrics were moved."""
REPLACED_METRICS = ".metrics.replaced.jsonl"
"""The old run's ``metrics.jsonl``, kept aside while an ``--overwrite`` run has no checkpoint yet."""
WRITE_PROBE = ".write-test"
"""The prefix of the file :func:`stmtl.training.run.check_output_dir` writes and removes to test the folder."""
TRACKER_NAME = "stmtl"
"""The experiment tracker's run name; TensorBoard logs go in the folder of that name."""
CHECKPOINTS = "checkpoints"
"""The checkpoint folder (:data:`stmtl.training.checkpoint.CHECKPOINTS`)."""
MODEL_MARKER = "modules.json"
"""Written last into a saved model: the folder holds a complete model (:data:`stmtl.atomic.MARKERS`)."""

_OWN = frozenset({LOCK_FILE, PENDING_FILE, REPLACED_METRICS})
_RUN_LOGS = frozenset({RUN_FILE, CONFIG_FILE, METRICS_FILE, TRACKER_NAME})
_STAGING = re.compile(r"^\..+\.(tmp|old)-[^.]+$")
"""Names :mod:`stmtl.atomic` and :mod:`stmtl.jsonio` stage writes under (``.name.tmp-XXXX``, ``.name.old-XXXX``)."""
_STEP = re.compile(r"^step-\d+$")


RANK_VARIABLES = ("RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK", "PMI_RANK")
"""Where launchers put a process's rank, read in this order (as Accelerate's ``get_int_from_env``)."""


def is_main_process() -> bool:
    """Whether this process is rank 0 of its launch (or not launched by torchrun, accelerate or MPI): the one that
    claims, checks and writes the run folder."""
    for name in RANK_VARIABLES:
        if name in os.environ:
            return int(os.environ[name]) == 0
    return True


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; ``{}`` if it is missing, unreadable or not an object."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def is_run_folder(folder: Path) -> bool:
    """Whether ``folder`` holds what a run leaves besides logs: checkpoints, a model or results (not checked for
    completeness here: :func:`stmtl.training.run_folder.run_artifacts` does that)."""
    checkpoints = folder / CHECKPOINTS
    has_steps = checkpoints.is_dir() and any(_STEP.match(entry) for entry in os.listdir(checkpoints))
    return has_steps or (folder / MODEL_MARKER).exists() or (folder / RESULTS_FILE).exists()


def unowned_entries(folder: Path) -> list[str]:
    """The entries of ``folder`` that stmtl did not write, when it holds no run: the user's files, sorted.

    stmtl's own are the lock, staging leftovers, the write probe, a pending ``--overwrite``'s files, a
    ``checkpoints/`` of step and staging folders only, and, when ``run.json`` is a stmtl run's, the logs of a run
    that failed before its first checkpoint (``run.json``, ``training_config.json``, ``metrics.jsonl``, the
    tracker's folder).
    """
    if not folder.is_dir():
        return []
    run_logs_ours = "run_id" in read_json(folder / RUN_FILE)
    found = []
    for entry in sorted(os.listdir(folder)):
        if entry in _OWN or entry.startswith(WRITE_PROBE) or _STAGING.match(entry):
            continue
        if run_logs_ours and entry in _RUN_LOGS:
            continue
        if entry == CHECKPOINTS and (folder / entry).is_dir():
            if all(_STEP.match(name) or _STAGING.match(name) for name in os.listdir(folder / entry)):
                continue
        found.append(entry)
    return found


def check_no_user_files(folder: Path) -> None:
    """Refuse a folder that holds no run but files of the user's (:func:`unowned_entries`): a new run would replace
    those it writes (``README.md``, ``config.json``, ...) without a word.

    Raises:
        ConfigError: Naming the folder, its first files and ``--overwrite``.
    """
    found = [] if is_run_folder(folder) else unowned_entries(folder)
    if found:
        shown = ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
        raise ConfigError(
            f"{folder}: holds files that are not a stmtl run's ({shown}); pass --overwrite to train into it anyway "
            "(files the run does not write are kept; overwrite=True in Python) or use another --output"
        )


def removable(folder: Path) -> bool:
    """Whether a folder a failed run created holds nothing worth keeping: only stmtl's own files (see
    :func:`unowned_entries`), no checkpoint, model or results, and no ``metrics.jsonl`` record of a step."""
    if is_run_folder(folder) or unowned_entries(folder):
        return False
    try:
        with open(folder / METRICS_FILE, encoding="utf-8") as handle:
            return not any('"step"' in line for line in handle)
    except FileNotFoundError:
        return True
    except OSError:
        return False


@dataclass
class _Hold:
    fd: int
    thread: int
    created: Path | None
    depth: int = 1


_HELD: dict[str, _Hold] = {}
"""The folders this process holds the lock of, by real path."""
_HELD_GUARD = threading.Lock()


class FolderClaim:
    """A claim on a run folder: created if missing, and locked; ``with FolderClaim(folder) as claim: ...``.

    Args:
        folder: The run folder.

    Attributes:
        created: Whether the outermost claim made the folder (then a failed run removes it if :func:`removable`).
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILE
        self.key: str | None = None

    @property
    def created(self) -> bool:
        return self.key is not None and _HELD[self.key].created is not None

    def acquire(self) -> None:
        """Create the folder if missing and take its lock, or refuse at once.

        Raises:
            ConfigError: If the folder cannot be created, or another process or thread holds the lock (naming its
                pid and host).
        """
        with _HELD_GUARD:
            created = self._make_folder()
            key = os.path.realpath(self.folder)
            held = _HELD.get(key)
            if held is not None:
                if held.thread != threading.get_ident():
                    raise self._busy()
                held.depth += 1
            else:
                _HELD[key] = _Hold(self._lock(), threading.get_ident(), created)
            self.key = key

    def _make_folder(self) -> Path | None:
        """Create the folder (and missing parents); the topmost folder created, or None if it existed."""
        if self.folder.is_dir():
            return None
        top = self.folder.absolute()
        while not top.parent.exists() and top.parent != top:
            top = top.parent
        try:
            self.folder.mkdir(parents=True)
        except FileExistsError:
            if not self.folder.is_dir():
                raise ConfigError(f"{self.folder}: output folder cannot be created (a file has that name)") from None
            return None  # made by someone else between the check and the mkdir
        except OSError as error:
            raise ConfigError(f"{self.folder}: output folder cannot be created ({error.strerror})") from None
        return top

    def _remove_created(self, top: Path) -> None:
        """Remove the run folder, then the parents this claim created up to ``top`` while they are empty."""
        shutil.rmtree(self.folder, ignore_errors=True)
        folder = self.folder.absolute().parent
        while top in (folder, *folder.parents):
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent

    def _busy(self) -> ConfigError:
        holder = read_json(self.path)
        return ConfigError(
            f"{self.folder}: another stmtl run is training into this folder (pid {holder.get('pid', '?')} "
            f"on {holder.get('host', '?')}, lock file {LOCK_FILE}); wait for it to end or use another --output"
        )

    def _lock(self) -> int:
        import fcntl

        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            except FileNotFoundError:  # a failed run removed the folder it had made between our mkdir and open
                self._make_folder()
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise self._busy() from None
            try:
                same_file = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same_file = False
            if same_file:  # else the previous holder removed the file between our open and our flock
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, to_json({"pid": os.getpid(), "host": socket.gethostname()}).encode())
        return fd

    def release(self, failed: bool = False) -> None:
        """End this claim; the outermost one drops the lock, and first removes the folder if it made it, ``failed``
        and the folder is :func:`removable`.

        Args:
            failed: The claim ends with an error.
        """
        if self.key is None:
            return
        with _HELD_GUARD:
            key, self.key = self.key, None
            held = _HELD[key]
            held.depth -= 1
            if held.depth:
                return
            del _HELD[key]
            try:
                if failed and held.created is not None and removable(self.folder):
                    self._remove_created(held.created)
                else:
                    self.path.unlink(missing_ok=True)
            finally:
                os.close(held.fd)

    def __enter__(self) -> FolderClaim:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.release(failed=kind is not None)
