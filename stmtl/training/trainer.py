"""The multi-task training loop: per-stream batches, one encoder pass per batch, Accelerate for devices."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs, broadcast, gather_object
from torch import nn
from tqdm.auto import tqdm

from stmtl.config import TrainConfig
from stmtl.evaluation import EvalSet, headline, predict_encoded, score, selection_score
from stmtl.features import collate, forward
from stmtl.jsonio import to_json
from stmtl.model import MultiTaskSentenceTransformer
from stmtl.save_errors import reporting
from stmtl.training.accumulation import end_epoch_with_step
from stmtl.training.checkpoint import (
    checkpoint_name,
    finish_checkpoint,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from stmtl.training.diagnostics import stop_unreached_parameters, task_gradient_cosines
from stmtl.training.freezing import GradualUnfreezer, apply_freeze, loss_tasks
from stmtl.training.head_init import fit_heads
from stmtl.training.optim import build_optimizer, build_scheduler
from stmtl.training.preservation import EmbeddingPreservation, set_encoder_dropout
from stmtl.training.resolve import planned_steps
from stmtl.training.run_folder import after_checkpoint
from stmtl.training.streams import TrainingData
from stmtl.training.weighting import TaskWeighting

logger = logging.getLogger(__name__)


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. too many non-finite losses in a row)."""


class TrainingModule(nn.Module):
    """The model, its task losses and the loss weighting in one forward pass, under one DDP wrapper.

    Everything with parameters runs inside :meth:`forward`, so DDP sees the learned loss weights in the graph of its
    outputs: with ``find_unused_parameters`` on, a parameter used only after ``forward`` would be marked unused and
    then receive a gradient, which DDP refuses.
    """

    def __init__(self, model: MultiTaskSentenceTransformer, weighting: TaskWeighting) -> None:
        super().__init__()
        self.model, self.weighting = model, weighting

    def forward(
        self, batch: dict[str, torch.Tensor], tasks: list[str], label_smoothing: float = 0.0
    ) -> tuple[dict[str, torch.Tensor], dict[str, Any], torch.Tensor]:
        """Features, the losses of ``tasks`` and their weighted sum for a collated batch already on the device."""
        features = forward(self.model, batch, batch["input_ids"].device)
        losses = {task: self.model.heads[task].loss(features, batch, label_smoothing) for task in tasks}
        return losses, features, self.weighting(losses)


class MultiTaskTrainer:
    """Trains a :class:`MultiTaskSentenceTransformer` on several tasks at once.

    Each step draws one batch from one stream (see :mod:`stmtl.training.sampling`), runs the shared encoder
    and all heads once, sums the losses of the stream's tasks (:class:`TaskWeighting`) and takes an AdamW
    step. ``Accelerator`` handles device placement, DDP, mixed precision and gradient accumulation, so the same
    loop runs on a CPU, one GPU, or many processes (``accelerate launch`` / ``torchrun``). With N processes each
    step's global batch of ``N * batch_size`` examples of one stream is split across them.

    Args:
        model: The model, heads included.
        config: The run's configuration, resolved (:func:`stmtl.training.resolve.resolve_config`: its
            ``preserve_embeddings``, ``epochs`` and ``eval_every`` decided, the data's epochs planned).
        data: The training streams and their batch order (:class:`~stmtl.training.streams.TrainingData`).
        dev_sets: Encoded development data for evaluation and model selection.
        accelerator: The run's ``Accelerator``.
        ddp_kwargs: The ``DistributedDataParallelKwargs`` handler the accelerator was built with
            (``Accelerator(kwargs_handlers=[...])``); the trainer sets its ``find_unused_parameters`` before
            ``prepare`` wraps the model.
        fitted_heads: Tasks whose heads continue from a saved model: the head probe leaves them as they are.
    """

    def __init__(
        self,
        model: MultiTaskSentenceTransformer,
        config: TrainConfig,
        data: TrainingData,
        dev_sets: list[EvalSet],
        accelerator: Accelerator,
        ddp_kwargs: DistributedDataParallelKwargs,
        fitted_heads: Collection[str] = (),
    ) -> None:
        self.config, self.dev_sets, self.accelerator = config, dev_sets, accelerator
        self.fitted_heads = set(fitted_heads)
        self.world = accelerator.num_processes
        self.data, self.streams = data, data.streams
        self.run_dir = Path(config.output_dir)
        self.tasks = [task for stream in self.streams for task in stream.tasks]
        self.frozen = apply_freeze(model, config.freeze) if config.freeze != "none" else []
        self.loss_tasks = loss_tasks(model, self.streams, config.frozen_head_loss)
        self.unfreezer = GradualUnfreezer(model, config.unfreeze_every) if config.unfreeze_every else None
        self.probes = {task: stream.probe(config.batch_size) for stream in self.streams for task in stream.tasks}
        # DDP's per-step unused-parameter search only where some batches skip parameters (interleave mode).
        self.find_unused_parameters = stop_unreached_parameters(model, self.streams, accelerator.device, config)
        ddp_kwargs.find_unused_parameters = self.find_unused_parameters
        weights = {task.name: task.weight for task in config.tasks}
        self.weighting = TaskWeighting(self.tasks, weights, config.loss_weighting == "uncertainty")
        extra = [self.weighting.log_variance] if self.weighting.learned else []
        optimizer = build_optimizer(
            model, config.lr_backbone, config.lr_heads, config.weight_decay, config.layer_lr_decay, extra,
            lr_adapter=config.lr_adapter,
        )  # fmt: skip
        if config.encoder_dropout is not None:
            set_encoder_dropout(model, config.encoder_dropout)
        self.preservation = None
        if config.preserve_embeddings > 0:
            self.preservation = EmbeddingPreservation(config.preserve_method, config.preserve_embeddings)
            self.preservation.prepare(model, self.streams, config.eval_batch_size)
        self.epoch_lengths = self.data.epoch_lengths
        self.total_steps = planned_steps(self.epoch_lengths, config)
        self.eval_every = config.eval_every
        warmup = int(config.warmup_ratio * self.total_steps)
        self.scheduler = build_scheduler(optimizer, config.scheduler, warmup, self.total_steps)
        self.model, self.optimizer = accelerator.prepare(TrainingModule(model, self.weighting), optimizer)
        self.unwrapped: MultiTaskSentenceTransformer = accelerator.unwrap_model(self.model).model
        self.state: dict[str, Any] = {
            "step": 0, "epoch": 0, "batches_done": 0, "best_score": None, "best_checkpoint": None,
            "evals_without_gain": 0, "skipped_steps": 0, "run_id": None, "finished": False,
        }  # fmt: skip
        self.last_evaluated_step = -1
        self.start_time = time.perf_counter()

    # Training --------------------------------------------------------------------------------------------------

    def train(self, resume_from: str | Path | None = None) -> dict[str, Any]:
        """Run to the end (or early stop); returns the trainer state (best score, best checkpoint, steps)."""
        if resume_from is not None:
            self._resume(resume_from)
        else:
            self._log({"type": "start", "total_steps": self.total_steps, "num_processes": self.world})
            if self.config.head_init == "probe" and self.config.lr_heads > 0:
                self._probe_heads()
        accelerator, config = self.accelerator, self.config
        running: dict[str, list[float]] = {}
        nonfinite_in_row, progress = 0, float(self.state["epoch"])
        self.start_time = time.perf_counter()
        bar = tqdm(
            total=self.total_steps, initial=self.state["step"], desc="Training", unit="step",
            disable=not accelerator.is_main_process,
        )  # fmt: skip
        early_stopped = self._patience_spent()  # a resumed run that had stopped early, with the same patience
        stop = early_stopped or self.state["finished"] or self.state["step"] >= self.total_steps
        for epoch in range(self.state["epoch"], len(self.epoch_lengths)):
            if stop:
                break
            self.state["epoch"] = epoch
            for position, stream_index, rows in self.data.batches(
                epoch, self.state["batches_done"], accelerator.process_index
            ):
                stream = self.streams[stream_index]
                end_epoch_with_step(accelerator, position + 1 == self.epoch_lengths[epoch])
                losses, finite = self.training_step(stream, rows)
                self.state["batches_done"] = position + 1
                if not accelerator.sync_gradients:
                    continue
                if not finite:
                    nonfinite_in_row += 1
                    self.state["skipped_steps"] += 1
                    self._log({"type": "skipped_step", "step": self.state["step"], "reason": "non-finite gradient"})
                    # fp16 overflow steps are the GradScaler's to handle (it lowers the scale): never fatal.
                    if nonfinite_in_row >= config.nan_patience and accelerator.scaler is None:
                        raise TrainingError(
                            f"{nonfinite_in_row} consecutive steps had a non-finite loss or gradient; stopping "
                            f"(lower the learning rate or use bf16 instead of fp16)"
                        )
                    continue
                nonfinite_in_row = 0
                self.scheduler.step()
                self.state["step"] += 1
                for task, loss in losses.items():
                    running.setdefault(task, []).append(float(loss.detach()))
                bar.update(1)
                bar.set_postfix({task: f"{sum(v[-20:]) / len(v[-20:]):.3f}" for task, v in running.items()})
                step = self.state["step"]
                progress = epoch + position / max(1, self.epoch_lengths[epoch])
                if config.grad_cosine_every and step % config.grad_cosine_every == 0 and len(self.probes) > 1:
                    pairs = task_gradient_cosines(self.unwrapped, self.probes, accelerator.device)
                    self._log({"type": "grad_cosine", "step": step, "pairs": pairs})
                if step % config.log_every == 0:
                    self._log_train(running, progress)
                    running = {}
                if self._should_evaluate(step) and self._evaluate_and_checkpoint():
                    stop = early_stopped = True
                if step >= self.total_steps or stop:
                    stop = True
                    break
            else:
                self.state["epoch"], self.state["batches_done"] = epoch + 1, 0
        bar.close()
        if running:  # the last, partial window: a run shorter than log_every steps still gets its loss record
            self._log_train(running, progress)
        if self.last_evaluated_step != self.state["step"] or self.state["best_checkpoint"] is None:
            self._evaluate_and_checkpoint(force=True, finished=not early_stopped)
        if not early_stopped and not self.state["finished"]:  # its steps or epochs ran out: nothing can continue it
            self.state["finished"] = True
            if accelerator.is_main_process:
                finish_checkpoint(self.run_dir / checkpoint_name(self.state["step"]))
        self.state["train_seconds"] = round(time.perf_counter() - self.start_time, 1)
        accelerator.wait_for_everyone()
        return self.state

    def _probe_heads(self) -> None:
        """Fit the trainable heads on the frozen encoder before the first step (LP-FT, see ``head_init``)."""
        start = time.perf_counter()
        report = fit_heads(
            self.unwrapped, self.streams, self.config.seed, self.config.eval_batch_size, skip=self.fitted_heads
        )
        if self.world > 1:  # every process fitted the same rows; rank 0's result is the one all start from
            for head in self.unwrapped.heads.values():
                for parameter in head.parameters():
                    parameter.data.copy_(broadcast(parameter.data.clone(), from_process=0))
        self._log({"type": "probe", "loss": report, "seconds": round(time.perf_counter() - start, 2)})

    def training_step(self, stream: Any, rows: dict[str, list]) -> tuple[dict[str, torch.Tensor], bool]:
        """Forward, backward and (at accumulation boundaries) clip + AdamW step on one batch of ``rows``.

        Returns:
            The per-task losses and whether the gradient was finite (a non-finite step is not applied).
        """
        accelerator = self.accelerator
        self.model.train()
        with accelerator.accumulate(self.model):
            losses, features, total = self._losses(stream, rows)
            if self.preservation is not None:
                penalty = self.preservation.loss(features, rows)
                total = total + penalty
                losses = {**losses, "preserve": penalty}
            accelerator.backward(total)
            finite = True
            if accelerator.sync_gradients:
                if self.unfreezer is not None:
                    self.unfreezer.drop_frozen_grads(self.state["step"])
                params = [p for p in self.model.parameters() if p.grad is not None]
                norm = accelerator.clip_grad_norm_(params, self.config.max_grad_norm or float("inf"))
                finite = bool(torch.isfinite(torch.as_tensor(norm)))
            if finite or accelerator.scaler is not None:
                # fp16: the GradScaler skips an overflowing step itself and lowers its scale, which needs step().
                self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
        return losses, finite

    def _losses(self, stream: Any, rows: dict[str, list]) -> tuple[dict, dict, torch.Tensor]:
        """One forward pass of the shared encoder and every head: the stream's tasks' losses, the features and the
        weighted total."""
        heads = [self.unwrapped.heads[task] for task in stream.tasks]
        batch = collate(rows, self.unwrapped.tokenizer, heads)
        batch = {key: value.to(self.accelerator.device) for key, value in batch.items()}
        return self.model(batch, self.loss_tasks[id(stream)], self.config.label_smoothing)

    def _should_evaluate(self, step: int) -> bool:
        return step % self.eval_every == 0

    def _patience_spent(self) -> bool:
        """``early_stopping_patience`` evaluations in a row brought no dev improvement: early stopping is due."""
        patience, state = self.config.early_stopping_patience, self.state
        return patience is not None and state["best_score"] is not None and state["evals_without_gain"] >= patience

    # Evaluation and checkpoints --------------------------------------------------------------------------------

    def evaluate(self, eval_sets: list[EvalSet]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Score ``eval_sets`` with predictions computed on every process and gathered once."""
        metrics: dict[str, Any] = {}
        pairs: dict[str, Any] = {}
        for eval_set in eval_sets:
            local = predict_encoded(
                self.unwrapped, eval_set, self.config.eval_batch_size, self.accelerator.process_index, self.world,
                self.accelerator.autocast,
            )  # fmt: skip
            gathered = gather_object([local]) if self.world > 1 else [local]
            predictions = {index: result for part in gathered for index, result in part.items()}
            set_metrics, set_pairs = score(self.unwrapped, eval_set, predictions)
            metrics.update(set_metrics)
            pairs.update(set_pairs)
        return metrics, pairs

    def _evaluate_and_checkpoint(self, force: bool = False, finished: bool = False) -> bool:
        """Evaluate on dev, log, checkpoint (``finished``: the run's last), track the best (``force``: this one if
        there is none yet); returns True when early stopping triggers."""
        self.last_evaluated_step = self.state["step"]
        metrics, _ = self.evaluate(self.dev_sets) if self.dev_sets else ({}, {})
        score_now = selection_score(self.unwrapped, metrics) if metrics else None
        improved = score_now is not None and (self.state["best_score"] is None or score_now > self.state["best_score"])
        if metrics:
            self._log({"type": "eval", "split": "dev", "step": self.state["step"], "epoch": self.state["epoch"],
                       "metrics": headline(self.unwrapped, metrics), "score": score_now})  # fmt: skip
            if self.accelerator.is_main_process:
                tqdm.write(
                    f"step {self.state['step']} dev: {json.dumps(headline(self.unwrapped, metrics))}", file=sys.stderr
                )
        self.state["evals_without_gain"] = 0 if improved else self.state["evals_without_gain"] + 1
        if improved or (force and self.state["best_checkpoint"] is None):  # before saving: the state names the best
            self.state["best_score"] = score_now
            self.state["best_checkpoint"] = checkpoint_name(self.state["step"])
        early_stop = bool(metrics) and self._patience_spent()
        # Stopped early before its last step, a run keeps its training state: --resume with more patience goes on.
        self.save_checkpoint(finished=finished or self.state["step"] >= self.total_steps)
        return early_stop

    def save_checkpoint(self, finished: bool = False) -> Path:
        """Checkpoint the current step (all processes call this; the main one writes); ``finished``: the run's last
        checkpoint, never continued, is written without training state (optimizer, scheduler, RNG)."""
        accelerator = self.accelerator
        rngs = gather_object([rng_state()]) if self.world > 1 else [rng_state()]
        path = self.run_dir / checkpoint_name(self.state["step"])
        self.state["finished"] = finished
        if accelerator.is_main_process:
            training_state = None if finished else {
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "weighting": self.weighting.state_dict(),
                "rng": rngs,
            }  # fmt: skip
            state = dict(self.state)
            save_checkpoint(self.run_dir, self.state["step"], self.unwrapped, training_state, state)
            after_checkpoint(self.run_dir, state, self.config.save_total_limit)
        accelerator.wait_for_everyone()
        return path

    def _resume(self, path: str | Path) -> None:
        """Restore weights, optimizer, scheduler, loss weights, RNG and the position in the data."""
        from stmtl.loading import load

        training_state, state = load_checkpoint(path)
        saved = load(path, device="cpu")
        self.unwrapped.load_state_dict(saved.state_dict())
        self.state.update(state)
        self.last_evaluated_step = self.state["step"]  # every checkpoint is written right after an evaluation
        if training_state is None:  # the last checkpoint of a finished run: only its outputs are made again
            step = self.state["step"]
            logger.warning(f"{path}: the run finished at step {step}; --resume only re-does its final evaluation")
            self._log({"type": "resume", "step": step, "from": checkpoint_name(step), "finished": True})
            return
        self.optimizer.load_state_dict(training_state["optimizer"])
        self.scheduler.load_state_dict(training_state["scheduler"])
        self.weighting.load_state_dict(training_state["weighting"])
        rngs = training_state["rng"]
        set_rng_state(rngs[min(self.accelerator.process_index, len(rngs) - 1)])
        self._log({"type": "resume", "step": self.state["step"], "from": checkpoint_name(self.state["step"])})

    # Logging ---------------------------------------------------------------------------------------------------

    def _log_train(self, running: dict[str, list[float]], epoch: float) -> None:
        losses = {task: sum(values) / len(values) for task, values in running.items() if values}
        if self.world > 1:
            gathered = gather_object([losses])
            losses = {t: sum(g[t] for g in gathered if t in g) / sum(t in g for g in gathered) for t in losses}
        record = {"type": "train", "step": self.state["step"], "epoch": round(epoch, 4), "loss": losses,
                  "lr": self.scheduler.get_last_lr()[0]}  # fmt: skip
        if self.weighting.learned:
            record["task_weights"] = self.weighting.current_weights()
        self._log(record)

    def _log(self, record: dict[str, Any]) -> None:
        """Append a record to ``metrics.jsonl`` (and to TensorBoard when enabled); main process only."""
        if not self.accelerator.is_main_process:
            return
        record = {
            **record,
            "elapsed_s": round(time.perf_counter() - self.start_time, 2),
        }
        path = self.run_dir / "metrics.jsonl"
        with reporting(path), open(path, "a", encoding="utf-8") as handle:  # a full disk names the file
            handle.write(to_json(record) + "\n")
        if self.config.report_to != "none":
            flat = _flatten(record.get("loss", {}), "loss/") | _flatten(record.get("metrics", {}), "dev/")
            if flat:
                self.accelerator.log(flat, step=record.get("step"))


def _flatten(values: dict[str, Any], prefix: str) -> dict[str, float]:
    flat: dict[str, float] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat |= _flatten(value, f"{prefix}{key}/")
        elif isinstance(value, (int, float)):
            flat[f"{prefix}{key}"] = float(value)
    return flat
