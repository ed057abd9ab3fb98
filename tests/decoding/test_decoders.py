from __future__ import annotations

import json

import numpy as np
import pytest

from stmtl.decoding import TextBatch, check_config, decoder_for
from stmtl.heads import MultiLabelClassificationHead, SentenceClassificationHead, TokenClassificationHead
from stmtl.heads.multilabel.decoding import MultiLabelDecoder, sigmoid
from stmtl.heads.sentence.decoding import SentenceDecoder
from stmtl.heads.token.decoding import TokenDecoder, transitions
from stmtl.heads.validation import HeadConfigError


def test_decoder_for_reads_a_saved_head_config(tmp_path) -> None:
    head = SentenceClassificationHead("intent", ["a", "b"], 4, prior=[0.9, 0.1], prior_weight=0.5)
    head.save(str(tmp_path))
    config = json.loads((tmp_path / "config.json").read_text())
    assert decoder_for("sentence", config) == head.decoder == SentenceDecoder(("a", "b"), (0.9, 0.1), 0.5)
    threshold = MultiLabelClassificationHead("topics", ["x", "y"], 4, threshold=0.3)
    assert threshold.decoder == MultiLabelDecoder(("x", "y"), 0.3)
    assert TokenClassificationHead("ner", ["O", "B-x"], 4).decoder == TokenDecoder(("O", "B-x"))


def test_decoder_for_unknown_kind_refused() -> None:
    with pytest.raises(ValueError, match="unknown head kind 'nonsense'"):
        decoder_for("nonsense", {"labels": ["a"]})


@pytest.mark.parametrize(
    ("kind", "config", "fragment"),
    [
        ("sentence", {"task": "t", "in_features": 4}, "key 'labels': missing"),
        ("sentence", {"task": "t", "labels": ["a", "b"], "in_features": 4, "prior": [1.0]}, "one value per label"),
        ("token", {"task": "t", "labels": ["O", "X-y"], "in_features": 4}, "unknown tag 'X-y'"),
        ("multilabel", {"task": "t", "labels": ["a"], "in_features": 4, "threshold": 1.5}, "key 'threshold'"),
    ],
)
def test_check_config_checks_a_saved_config_without_torch(kind, config, fragment) -> None:
    with pytest.raises((HeadConfigError, ValueError), match=fragment):
        check_config(kind, config)


def test_sentence_decoder_prior_weight_moves_the_decision() -> None:
    decoder = SentenceDecoder(("common", "rare"), (0.9, 0.1), 0.0)
    logits = np.array([[0.0, 1.0]], dtype=np.float32)  # "rare" by 1; τ * log(9) outweighs it for τ > 0.455
    assert decoder.decode(logits)[0]["label"] == "rare"
    assert SentenceDecoder(("common", "rare"), (0.9, 0.1), 1.0).decode(logits)[0]["label"] == "common"
    shifted = decoder.decision_logits(logits, 1.0)
    assert shifted.dtype == np.float64 and shifted[0, 0] - shifted[0, 1] == pytest.approx(np.log(9) - 1.0)
    assert decoder.decode(logits)[0]["score"] == pytest.approx(1 / (1 + np.exp(-1.0)))


def test_multilabel_sigmoid_is_finite_for_extreme_logits() -> None:
    values = sigmoid(np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0]))
    assert np.all(np.isfinite(values)) and values[0] == 0.0 and values[2] == 0.5 and values[-1] == 1.0


def test_multilabel_decoder_threshold_inclusive_most_probable_first() -> None:
    decoder = MultiLabelDecoder(("a", "b", "c"), threshold=0.5)
    decoded = decoder.decode(np.array([[0.0, 2.0, -1.0], [-3.0, -3.0, -3.0]]))
    assert [item["label"] for item in decoded[0]] == ["b", "a"] and decoded[1] == []


def test_token_decoder_repairs_a_stray_inside_tag_and_keeps_offsets() -> None:
    labels = ("O", "B-x", "I-x")
    text = "go to new york"
    spans = [(0, 2), (3, 5), (6, 9), (10, 14)]
    logits = np.full((1, 6, 3), -5.0)  # [CLS] go to new york [SEP]
    for position, tag in zip(range(1, 5), (0, 0, 2, 2)):  # "new" reads I-x: no entity open, B-x wins the path
        logits[0, position, tag] = 5.0
    logits[0, 3, 1] = 4.0
    batch = TextBatch([text], [spans], [[1, 2, 3, 4]])
    [entities] = TokenDecoder(labels).decode(logits, batch)
    assert [(e["label"], e["start"], e["end"], e["text"]) for e in entities] == [("x", 6, 14, "new york")]


def test_token_transitions_cached_and_read_only() -> None:
    rules, opening = transitions(("O", "B-x", "I-x"))
    assert transitions(("O", "B-x", "I-x"))[0] is rules
    with pytest.raises(ValueError):
        rules[0, 0] = 1.0
    assert opening.tolist() == [0.0, 0.0, -np.inf] and rules[0].tolist() == [0.0, 0.0, -np.inf]


def test_decoding_imports_without_torch() -> None:
    import subprocess
    import sys

    script = (
        "import sys; sys.modules['torch'] = None\nimport stmtl.decoding, stmtl.decoding.windows\n"
        "from stmtl.heads import registry\n"
        "for kind in registry.kinds(): stmtl.decoding.decoder_class(kind)\nprint('ok')"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
