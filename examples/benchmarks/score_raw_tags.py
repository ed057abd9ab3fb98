"""Slot F1 of one saved model scored two ways: on ``predict``'s spans (what ``stmtl evaluate`` reports) and on the
raw argmax word tags before the decoder's repair of stray ``I-X`` tags (what stmtl reported before scoring moved to
``predict``'s spans).

The raw tags are the ones the token head's decoder hands to :func:`stmtl.heads.token.bio.decode_entities`, captured
during the same evaluation pass, so both figures come from one set of logits.

Usage:
    python examples/benchmarks/score_raw_tags.py --model runs/snips --data data/snips [--split test]
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import json

import stmtl
import stmtl.heads.token.decoding as token_module
from stmtl.data import read_task_data
from stmtl.evaluation import evaluate_model
from stmtl.metrics import TokenClassificationMetric


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="saved stmtl model with one token task")
    parser.add_argument("--data", required=True, help="joint folder, .jsonl or CoNLL file with tags")
    parser.add_argument("--split", default="test")
    args = parser.parse_args()

    # 1. Capture the word tags the token head decodes, in evaluation order (one batch after the other).
    raw: list[list[str]] = []
    decode = token_module.decode_entities

    def capture(text, spans, tags, scores):
        raw.append(list(tags))
        return decode(text, spans, tags, scores)

    token_module.decode_entities = capture

    # 2. One evaluation pass: the reported scores, and the raw tags scored with the same metric.
    model = stmtl.load(args.model)
    data = read_task_data(args.data, split=args.split)
    view, _ = evaluate_model(model, data)
    gold = [list(tags) for tags in data["tags"]]
    raw_scores = TokenClassificationMetric().compute(predictions=raw, references=gold)
    stray = sum(
        any(tag.startswith("I-") and (i == 0 or tags[i - 1][2:] != tag[2:]) for i, tag in enumerate(tags))
        for tags in raw
    )
    print(json.dumps({"split": args.split, "reported": view, "raw_tag_slot_f1": raw_scores["f1"],
                      "texts_with_stray_inside_tag": stray, "texts": len(gold)}))  # fmt: skip


if __name__ == "__main__":
    main()
