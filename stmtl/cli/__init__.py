"""The ``stmtl`` command line: check-data, train, evaluate, evaluate-sts, compare, predict, encode, export, serve,
fetch-data; one module per family of commands (:mod:`~stmtl.cli.train`: train and compare; :mod:`~stmtl.cli.data`:
check-data and fetch-data; :mod:`~stmtl.cli.evaluate`: evaluate and evaluate-sts; :mod:`~stmtl.cli.inference`:
predict, encode, export and serve), assembled by :mod:`stmtl.cli.main`.

Bad input ends with a one-line ``stmtl: error: ...`` and exit code 2; ``--debug`` (before or after the command)
shows the traceback instead. Every command checks its arguments and paths before torch, transformers or datasets
are imported, so help, version, a bad flag value, a missing file and a busy run folder are answered at once:
numbers are checked against their config field's :class:`stmtl.config.Bounds` by argparse, paths exist,
``train``'s ``--max-seq-length`` is within the backbone's position limit (:mod:`stmtl.position_limit`) and
``train`` claims its run folder (:class:`stmtl.training.folder_claim.FolderClaim`) before loading anything.
Flags must be spelt out in full (no prefix matching: ``--encoder`` is not ``--encoder-dropout``).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from stmtl.cli.common import bounded, require_model, require_output_file, require_path  # noqa: E402
from stmtl.cli.config_flags import add_config_flags  # noqa: E402
from stmtl.cli.inference import npy_path  # noqa: E402
from stmtl.cli.main import build_parser, main  # noqa: E402
from stmtl.cli.train import COMPARE_KEYS, data_tasks, snips_config, train_config  # noqa: E402

__all__ = [
    "COMPARE_KEYS",
    "add_config_flags",
    "bounded",
    "build_parser",
    "data_tasks",
    "main",
    "npy_path",
    "require_model",
    "require_output_file",
    "require_path",
    "snips_config",
    "train_config",
]
