"""What a token task gets wrong: each gold entity found, found with another type or other boundaries, or missed.

The scores of :mod:`stmtl.heads.token.metric` say how well each entity type does; this says what goes wrong
instead. Plain Python over IOB2 tags: nothing here imports ``evaluate``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from seqeval.metrics.sequence_labeling import get_entities


def entity_errors(references: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Every gold entity classed as found, found with another type, found with other boundaries or missed; every
    predicted entity that overlaps no gold one as spurious.

    Entities are read from IOB2 tags as seqeval reads them (its default mode; the same entities as its strict
    mode on the well-formed IOB2 that stmtl scores). A gold entity is:

    - ``correct`` when a predicted entity has its span and type;
    - a ``wrong_type`` confusion when a predicted entity has its span but another type, counted per
      (gold type, predicted type) pair;
    - ``wrong_span`` when no predicted entity has its span but one overlaps it (of any type);
    - ``missed`` when no predicted entity overlaps it.

    A predicted entity overlapping no gold entity is ``spurious``. ``correct`` per type equals seqeval's true
    positives, and ``correct + wrong_type + wrong_span + missed`` per gold type equals its support.

    Args:
        references: Gold IOB2 tags of each example.
        predictions: Predicted IOB2 tags of each example, each as long as its reference.

    Returns:
        ``{"correct", "wrong_span", "missed", "spurious"}``, each ``{type: count}``, and ``"wrong_type"``:
        ``[{"gold", "predicted", "count"}, ...]``, most frequent first.
    """
    correct: Counter[str] = Counter()
    wrong_span: Counter[str] = Counter()
    missed: Counter[str] = Counter()
    spurious: Counter[str] = Counter()
    wrong_type: Counter[tuple[str, str]] = Counter()
    for gold_tags, predicted_tags in zip(references, predictions, strict=True):
        gold = get_entities(list(gold_tags))  # [(type, first word, last word), ...]
        predicted = get_entities(list(predicted_tags))
        by_span = {(start, end): kind for kind, start, end in predicted}
        for kind, start, end in gold:
            found = by_span.get((start, end))
            if found == kind:
                correct[kind] += 1
            elif found is not None:
                wrong_type[(kind, found)] += 1
            elif any(p_start <= end and start <= p_end for _, p_start, p_end in predicted):
                wrong_span[kind] += 1
            else:
                missed[kind] += 1
        for kind, start, end in predicted:
            if not any(g_start <= end and start <= g_end for _, g_start, g_end in gold):
                spurious[kind] += 1
    pairs = [{"gold": gold, "predicted": predicted, "count": count} for (gold, predicted), count in wrong_type.items()]
    pairs.sort(key=lambda pair: (-pair["count"], pair["gold"], pair["predicted"]))
    return {
        "correct": dict(sorted(correct.items())),
        "wrong_type": pairs,
        "wrong_span": dict(sorted(wrong_span.items())),
        "missed": dict(sorted(missed.items())),
        "spurious": dict(sorted(spurious.items())),
    }
