"""The regression decoder: scores in the target's unit, config checks, no torch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from stmtl.decoding import check_config, decoder_for
from stmtl.heads.regression.decoding import RegressionDecoder
from stmtl.heads.validation import HeadConfigError


def test_regression_decoder_scales_the_output_back_to_the_target() -> None:
    decoder = decoder_for("regression", {"task": "stars", "in_features": 4, "target_mean": 3.0, "target_std": 2.0})
    assert decoder == RegressionDecoder(3.0, 2.0)
    assert decoder.decode(np.array([[0.0], [1.0], [-0.5]], dtype=np.float32)) == [
        {"score": 3.0},
        {"score": 5.0},
        {"score": 2.0},
    ]
    assert RegressionDecoder.from_config({"task": "stars", "in_features": 4}) == RegressionDecoder(0.0, 1.0)


@pytest.mark.parametrize(
    ("key", "value"), [("loss", "l1"), ("target_std", 0.0), ("target_std", -1.0), ("target_mean", float("nan"))]
)
def test_regression_config_checks_name_the_key(key, value) -> None:
    with pytest.raises(HeadConfigError, match=f"key '{key}'"):
        check_config("regression", {"task": "stars", "in_features": 4, key: value})


def test_regression_decoding_imports_without_torch() -> None:
    script = (
        "import sys; sys.modules['torch'] = None\n"
        "from stmtl.decoding import decoder_for\n"
        "print(decoder_for('regression', {'target_mean': 1.0, 'target_std': 2.0}).decode([[1.0]]))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[{'score': 3.0}]", done.stderr
