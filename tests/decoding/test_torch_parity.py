"""``predict`` of the PyTorch model decodes through :mod:`stmtl.decoding` exactly as the torch code it replaced.

The reference below is the former decoding of each head, in torch (float32 softmax / log-softmax / sigmoid):
labels, entities and character offsets must be identical, scores equal to float32 rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stmtl.alignment import first_pieces, piece_word_ids, split_words
from stmtl.heads import MultiLabelClassificationHead
from stmtl.heads.token.bio import constrained_tags, decode_entities, iob2_transitions
from tests.helpers import TOY, TRICKY_TEXTS, two_task_model

TEXTS = [*TRICKY_TEXTS, *(text for text, _, _ in TOY), "x " * 80]  # the last one is truncated


def _torch_reference(model, texts: list[str]) -> list[dict]:
    """The former ``_predict_batch`` + ``decode`` of every head, one batch, torch math throughout."""
    features = model.preprocess(texts, processing_kwargs={"text": {"return_offsets_mapping": True}})
    offsets = features.pop("offset_mapping").tolist()
    with torch.inference_mode():
        out = model(dict(features))
    spans = [split_words(text) for text in texts]
    positions = [first_pieces(piece_word_ids(o, s), len(s)) for o, s in zip(offsets, spans)]
    decoded = {}
    for task, head in model.heads.items():
        logits = out[head.logits_key].float()
        if head.kind == "sentence":
            if head.prior is not None and head.prior_weight != 0:
                logits = logits + head.prior_weight * torch.tensor(head.prior, dtype=torch.float32).log()
            scores, indices = logits.softmax(dim=-1).max(dim=-1)
            decoded[task] = [{"label": head.labels[i], "score": float(p)} for p, i in zip(scores, indices.tolist())]
        elif head.kind == "token":
            log_probs = logits.log_softmax(dim=-1).numpy()
            allowed, start = iob2_transitions(head.labels)
            rows = []
            for row, (text, text_spans, text_positions) in enumerate(zip(texts, spans, positions)):
                kept = [word for word, p in enumerate(text_positions) if p is not None]
                word_log_probs = log_probs[row, [text_positions[word] for word in kept]]
                path = constrained_tags(word_log_probs, allowed, start)
                tags, tag_scores = ["O"] * len(text_positions), [1.0] * len(text_positions)
                for word, index, scores in zip(kept, path, word_log_probs):
                    tags[word], tag_scores[word] = head.labels[index], float(np.exp(scores[index]))
                rows.append(decode_entities(text, text_spans, tags, tag_scores))
            decoded[task] = rows
        else:
            rows = []
            for row in logits.sigmoid().tolist():
                chosen = [(p, i) for i, p in enumerate(row) if p >= head.threshold]
                rows.append([{"label": head.labels[i], "score": p} for p, i in sorted(chosen, reverse=True)])
            decoded[task] = rows
    return [{"text": text, **{task: decoded[task][row] for task in decoded}} for row, text in enumerate(texts)]


def assert_same_predictions(actual, expected, score_tolerance: float) -> None:
    """Equal keys, labels, spans and texts; scores within ``score_tolerance``."""
    if isinstance(expected, dict):
        assert actual.keys() == expected.keys()
        for key in expected:
            assert_same_predictions(actual[key], expected[key], score_tolerance)
    elif isinstance(expected, list):
        assert len(actual) == len(expected)
        for a, b in zip(actual, expected):
            assert_same_predictions(a, b, score_tolerance)
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, abs=score_tolerance)
    else:
        assert actual == expected


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_predict_decodes_as_the_former_torch_decoding(tiny_backbone, seed) -> None:
    model = two_task_model(tiny_backbone, 32, seed=seed)
    torch.manual_seed(seed)
    model.append(MultiLabelClassificationHead("topics", ["a", "b", "c"], 32, threshold=0.3))
    model.heads["intent"].prior = [0.5, 0.3, 0.2]
    model.heads["intent"].prior_weight = 0.4 * seed
    model.eval()
    expected = _torch_reference(model, TEXTS)
    predicted = model.predict(TEXTS, batch_size=len(TEXTS))
    assert_same_predictions(predicted, expected, score_tolerance=1e-6)
    assert any(result["ner"] for result in predicted) and any(result["topics"] for result in predicted)
    # Batching and length sorting change nothing but the padding.
    assert_same_predictions(model.predict(TEXTS, batch_size=3), predicted, score_tolerance=1e-5)
