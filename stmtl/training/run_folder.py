"""A run folder belongs to one run: ownership, the lock, ``--overwrite``, ``--resume`` checks and sweeping.

``train`` claims its folder with :class:`RunFolder` before any work:

* **Lock.** The folder is created if missing and ``.stmtl.lock`` is held with ``flock`` for the whole run
  (:class:`stmtl.training.folder_claim.FolderClaim`, which ``stmtl train`` takes before anything heavy is
  imported). A second ``train`` into the folder refuses at once, naming the holder's pid and host; the kernel drops
  the lock when the process ends, so the file of a killed run is stale by construction. A run that fails in a
  folder it created, before writing anything worth keeping, removes the folder.
* **The user's files.** A new run into a folder that holds no run but other files (see
  :func:`stmtl.training.folder_claim.unowned_entries`) refuses, naming ``--overwrite``; with it, the run writes its
  files there and keeps the others, as ``model.save`` does.
* **Ownership.** ``run.json`` names the run (a random id, also written into every checkpoint) and its config.
  A new run into a folder that holds another run's checkpoints, model or results refuses, naming ``--resume`` and
  ``--overwrite``. Checkpoint rotation and ``--resume`` only consider the owner's checkpoints.
* **Overwrite.** With ``--overwrite`` the old run stays in place, loadable, until the new run's first checkpoint
  exists; then ``run.json``, ``training_config.json`` and ``metrics.jsonl`` become the new run's and the old
  run's checkpoints, results, plots and root model marker are removed. A new run that fails earlier puts the old
  ``metrics.jsonl`` back, so the folder is as it was; a killed one is rolled back (or, past its first checkpoint,
  completed) at the next start.
* **Resume.** ``--resume`` refuses settings that differ from the saved run, naming the keys; only
  :data:`RESUMABLE_KEYS` may change (they do not change what is trained), and then the new values are saved.
* **Sweeping.** Staging folders a killed writer left (``.*.tmp-*``, ``.*.old-*``) are removed at the start and
  at the successful end of every run.

In a multi-process run only the main process (``RANK`` 0) locks, checks and writes; the others only read.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

from stmtl.atomic import sweep_staging
from stmtl.config import ConfigError, TrainConfig
from stmtl.jsonio import to_json, write_json
from stmtl.model_format import HEADS_FILE, MODULES_FILE, module_folders
from stmtl.training.checkpoint import (
    CHECKPOINTS,
    checkpoint_run_id,
    latest_checkpoint,
    list_checkpoints,
    rotate_checkpoints,
)
from stmtl.training.folder_claim import (
    CONFIG_FILE,
    METRICS_FILE,
    PENDING_FILE,
    REPLACED_METRICS,
    RESULTS_FILE,
    RUN_FILE,
    FolderClaim,
    check_no_user_files,
    is_main_process,
    read_json,
)

RESUMABLE_KEYS = frozenset(
    {
        "eval_batch_size", "log_every", "save_total_limit", "nan_patience", "early_stopping_patience", "report_to",
        "cpu", "sts",
    }
)  # fmt: skip
"""Config keys ``--resume`` may change: they change logging, evaluation batching, checkpoint keeping, stopping
rules, the device or the final STS check, not the optimization that the checkpoint continues."""


def _absolute(value: Any) -> Any:
    return os.path.abspath(value) if isinstance(value, str) and os.path.exists(value) else value


def comparable_config(values: dict[str, Any]) -> dict[str, Any]:
    """A config (``TrainConfig.to_dict``) as ``--resume`` compares it: without ``output_dir``, paths absolute."""
    values = json.loads(to_json(values, default=str))
    values.pop("output_dir", None)
    values["backbone"] = _absolute(values.get("backbone"))
    for task in values.get("tasks", []):
        for key in ("train", "dev", "test"):
            task[key] = _absolute(task.get(key))
    return values


def changed_keys(saved: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The keys whose values differ between two :func:`comparable_config` results (``tasks[i].key`` for tasks)."""
    changed = [key for key in sorted(saved.keys() | new.keys()) if key != "tasks" and saved.get(key) != new.get(key)]
    saved_tasks, new_tasks = saved.get("tasks", []), new.get("tasks", [])
    if len(saved_tasks) != len(new_tasks):
        return [*changed, "tasks"]
    for index, (a, b) in enumerate(zip(saved_tasks, new_tasks)):
        changed += [f"tasks[{index}].{key}" for key in sorted(a.keys() | b.keys()) if a.get(key) != b.get(key)]
    return changed


def run_artifacts(run_dir: Path) -> list[str]:
    """What a run leaves that is worth keeping: complete checkpoints, a root model, results."""
    found = [f"{CHECKPOINTS}/"] if list_checkpoints(run_dir) else []
    return found + [name for name in ("modules.json", RESULTS_FILE) if (run_dir / name).exists()]


def _remove_previous_run(run_dir: Path, run_id: str) -> None:
    """Remove what another run left: its checkpoints, results, plots and kept metrics, and its root model's modules."""
    for path in list_checkpoints(run_dir):
        if checkpoint_run_id(path) != run_id:
            shutil.rmtree(path, ignore_errors=True)
    for name in (RESULTS_FILE, REPLACED_METRICS):
        (run_dir / name).unlink(missing_ok=True)
    shutil.rmtree(run_dir / "plots", ignore_errors=True)
    for sub in module_folders(run_dir):  # the encoder's (modules.json) and the heads' (heads.json)
        if sub and sub != CHECKPOINTS and (run_dir / sub).resolve().parent == run_dir.resolve():
            shutil.rmtree(run_dir / sub, ignore_errors=True)
    (run_dir / HEADS_FILE).unlink(missing_ok=True)
    (run_dir / MODULES_FILE).unlink(missing_ok=True)  # the rest of the old root model is overwritten by the new one


def _commit_overwrite(run_dir: Path, pending: dict[str, Any]) -> None:
    """Make the folder the pending run's (``run.json`` first: the commit point), then clear the old run away."""
    write_json(run_dir / RUN_FILE, {"run_id": pending["run_id"], "config": pending["config"]})
    write_json(run_dir / CONFIG_FILE, pending["training_config"], indent=2)
    _remove_previous_run(run_dir, pending["run_id"])
    (run_dir / PENDING_FILE).unlink(missing_ok=True)


def _roll_back_overwrite(run_dir: Path, pending: dict[str, Any]) -> None:
    """Undo an ``--overwrite`` run that wrote no checkpoint: drop its metrics and put the old run's back."""
    for path in list_checkpoints(run_dir, pending["run_id"]):
        shutil.rmtree(path, ignore_errors=True)
    if (run_dir / REPLACED_METRICS).exists():
        os.replace(run_dir / REPLACED_METRICS, run_dir / METRICS_FILE)
    elif not pending.get("moved_metrics"):
        (run_dir / METRICS_FILE).unlink(missing_ok=True)
    (run_dir / PENDING_FILE).unlink(missing_ok=True)


def after_checkpoint(run_dir: str | os.PathLike, state: dict[str, Any], keep: int) -> None:
    """After the main process wrote a checkpoint: finish a pending ``--overwrite``, then rotate this run's checkpoints.

    Args:
        run_dir: The run folder.
        state: The trainer state just saved (``run_id``, ``best_checkpoint``).
        keep: ``save_total_limit``.
    """
    run_dir = Path(run_dir)
    pending = read_json(run_dir / PENDING_FILE)
    if pending and pending.get("run_id") == state.get("run_id"):
        _commit_overwrite(run_dir, pending)
    rotate_checkpoints(run_dir, keep, protect=state.get("best_checkpoint"), run_id=state.get("run_id"))


def sweep(run_dir: Path) -> None:
    """Clear staging leftovers and settle an ``--overwrite`` a killed run left pending (main process, locked)."""
    sweep_staging(run_dir)
    sweep_staging(run_dir / CHECKPOINTS)
    pending = read_json(run_dir / PENDING_FILE)
    if pending.get("run_id"):
        owner = read_json(run_dir / RUN_FILE).get("run_id")
        if owner == pending["run_id"] or list_checkpoints(run_dir, pending["run_id"]):
            _commit_overwrite(run_dir, pending)
        else:
            _roll_back_overwrite(run_dir, pending)


class RunFolder:
    """One run's claim on its folder, held for the whole run: ``with RunFolder(config, ...) as run: ...``.

    Args:
        config: The run's configuration (``output_dir`` is the folder).
        resume: Continue the run in the folder.
        overwrite: Replace the run in the folder once this run's first checkpoint exists.

    Attributes:
        run_id: This run's id (``None`` when resuming a run of an earlier stmtl version).
        resume_from: The checkpoint to resume from, if ``resume``.

    Raises:
        ConfigError: On entering, if the folder is locked by another process, holds another run or files that are
            not a run's (neither ``resume`` nor ``overwrite``), has no checkpoint to resume, or ``resume`` comes with
            changed settings.
    """

    def __init__(self, config: TrainConfig, resume: bool = False, overwrite: bool = False) -> None:
        if resume and overwrite:
            raise ConfigError("give --resume (continue the run) or --overwrite (replace it), not both")
        self.config, self.resume, self.overwrite = config, resume, overwrite
        self.requested = comparable_config(config.to_dict())  # as given, before the run resolves its defaults
        self.run_dir = Path(config.output_dir)
        self.main = is_main_process()
        self.claim = FolderClaim(self.run_dir)
        self.run_id: str | None = None
        self.resume_from: Path | None = None
        self.pending = False

    def __enter__(self) -> RunFolder:
        if not self.main:
            self.run_id = read_json(self.run_dir / RUN_FILE).get("run_id")
            self.resume_from = latest_checkpoint(self.run_dir, self.run_id) if self.resume else None
            return self
        self.claim.acquire()
        try:
            sweep(self.run_dir)
            self._resume() if self.resume else self._start()
        except BaseException:
            self.claim.release(failed=True)
            raise
        return self

    def _resume(self) -> None:
        owner = read_json(self.run_dir / RUN_FILE)
        newest = latest_checkpoint(self.run_dir)
        self.run_id = owner["run_id"] if "run_id" in owner else checkpoint_run_id(newest) if newest else None
        self.resume_from = latest_checkpoint(self.run_dir, self.run_id)
        if self.resume_from is None:
            raise ConfigError(f"{self.run_dir}: --resume given but the run folder has no complete checkpoint")
        saved = owner.get("config")
        if saved is None and (self.run_dir / CONFIG_FILE).is_file():  # a run folder of an earlier version
            saved = comparable_config(read_json(self.run_dir / CONFIG_FILE))
        changed = changed_keys(saved, comparable_config(self.config.to_dict())) if saved else []
        refused = [key for key in changed if key not in RESUMABLE_KEYS]
        if refused:
            raise ConfigError(
                f"{self.run_dir}: --resume with settings that differ from the saved run: "
                f"{', '.join(repr(key) for key in refused)}; give the run's own values (see {CONFIG_FILE}) or "
                f"--overwrite to start a new run; only {', '.join(sorted(RESUMABLE_KEYS))} may change on resume"
            )

    def _start(self) -> None:
        found = run_artifacts(self.run_dir)
        if found and not self.overwrite:
            raise ConfigError(
                f"{self.run_dir}: holds another run ({', '.join(found)}); pass --resume to continue it or "
                "--overwrite to replace it (resume=True / overwrite=True in Python)"
            )
        if not found and not self.overwrite:
            check_no_user_files(self.run_dir)
        self.run_id = uuid.uuid4().hex
        if not found:  # the logs of a run that failed before its first checkpoint, or files --overwrite replaces
            for name in (METRICS_FILE, RUN_FILE, CONFIG_FILE):
                (self.run_dir / name).unlink(missing_ok=True)
            return
        self.pending = True
        metrics = self.run_dir / METRICS_FILE
        pending = {"run_id": self.run_id, "config": comparable_config(self.config.to_dict()),
                   "training_config": self.config.to_dict(), "moved_metrics": metrics.exists()}  # fmt: skip
        write_json(self.run_dir / PENDING_FILE, pending, default=str)
        if metrics.exists():
            os.replace(metrics, self.run_dir / REPLACED_METRICS)

    def started(self, training_config: dict[str, Any] | None = None) -> None:
        """Save ``run.json`` and ``training_config.json`` (main process; deferred to the first checkpoint under
        ``--overwrite``).

        Args:
            training_config: What ``training_config.json`` gets: the config with the values the run resolved from
                its data (epochs, evaluation interval); the config as given by default. ``run.json`` keeps the
                config as given, which is what ``--resume`` compares.
        """
        if not self.main:
            return
        resolved = json.loads(to_json(training_config or self.config.to_dict(), default=str))
        if self.pending:
            pending = read_json(self.run_dir / PENDING_FILE)
            write_json(self.run_dir / PENDING_FILE, {**pending, "training_config": resolved}, default=str)
            return
        write_json(self.run_dir / RUN_FILE, {"run_id": self.run_id, "config": self.requested})
        write_json(self.run_dir / CONFIG_FILE, resolved, indent=2)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if not self.main:
            return
        try:
            pending = read_json(self.run_dir / PENDING_FILE)
            if kind is not None and self.pending and pending.get("run_id") == self.run_id:
                _roll_back_overwrite(self.run_dir, pending)
            elif kind is None:
                sweep_staging(self.run_dir)
                sweep_staging(self.run_dir / CHECKPOINTS)
        finally:
            self.claim.release(failed=kind is not None)
