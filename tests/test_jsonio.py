from __future__ import annotations

import json

import numpy as np

from stmtl.jsonio import to_json


def test_jsonio_non_finite_numbers_become_null() -> None:
    values = {"a": float("nan"), "b": [float("inf"), -float("inf"), 1.5], "c": np.float32("nan"), "d": 3}
    text = to_json(values)

    def refuse(constant):
        raise ValueError(constant)

    assert json.loads(text, parse_constant=refuse) == {"a": None, "b": [None, None, 1.5], "c": None, "d": 3}
