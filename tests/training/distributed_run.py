"""Two-process CPU training for ``test_distributed.py``.

Usage: ``torchrun --nproc_per_node 2 distributed_run.py RUN_DIR BACKBONE [interleave|streaming]``.

Each rank trains the toy set (jointly; with ``interleave``: intents and slots as two corpora, one task per batch,
learned uncertainty weighting; with ``streaming``: read as an ``IterableDataset``, each rank drawing its share of the
batches) and saves its final weights as ``rank<r>.safetensors`` in the run folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from safetensors.torch import save_file  # noqa: E402

from stmtl.training.run import train  # noqa: E402
from tests.helpers import toy_config, toy_dataset  # noqa: E402

run_dir, backbone = sys.argv[1], sys.argv[2]
options = {}
if sys.argv[3:] == ["interleave"]:
    data = toy_dataset()
    intents = data.remove_columns(["tokens", "tags"])
    entities = data.remove_columns(["label"])
    options = {
        "mode": "interleave",
        "loss_weighting": "uncertainty",
        "tasks": [
            {"name": "intent", "kind": "sentence", "train": intents, "dev": intents},
            {"name": "slots", "kind": "token", "train": entities, "dev": entities},
        ],
    }
if sys.argv[3:] == ["streaming"]:
    options = {"streaming": True, "shuffle_buffer": 4}
model, results = train(toy_config(run_dir, backbone, max_steps=8, eval_every=4, **options))
rank = int(os.environ.get("RANK", "0"))
state = {name: tensor.detach().contiguous().clone() for name, tensor in model.state_dict().items()}
save_file(state, os.path.join(run_dir, f"rank{rank}.safetensors"))
