from __future__ import annotations

import pytest
import torch

from stmtl.heads import SentenceClassificationHead, TextBatch


def test_sentence_head_writes_logits_without_touching_embedding() -> None:
    head = SentenceClassificationHead("intent", ["a", "b", "c"], in_features=8)
    embedding = torch.randn(4, 8)
    features = head({"sentence_embedding": embedding.clone()})
    assert features["intent_logits"].shape == (4, 3)
    assert torch.equal(features["sentence_embedding"], embedding)


def test_sentence_head_hidden_layer_option() -> None:
    head = SentenceClassificationHead("intent", ["a", "b"], in_features=8, hidden_features=16)
    assert head({"sentence_embedding": torch.randn(2, 8)})["intent_logits"].shape == (2, 2)
    assert sum(isinstance(layer, torch.nn.Linear) for layer in head.classifier) == 2


def test_sentence_head_config_round_trip(tmp_path) -> None:
    head = SentenceClassificationHead("intent", ["a", "b", "c"], in_features=8, dropout=0.2, hidden_features=4)
    head.save(str(tmp_path))
    assert (tmp_path / "model.safetensors").is_file()
    loaded = SentenceClassificationHead.load(str(tmp_path))
    assert loaded.get_config_dict() == head.get_config_dict()
    for (name, a), (_, b) in zip(head.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name


def test_sentence_head_decode_label_and_probability() -> None:
    head = SentenceClassificationHead("intent", ["a", "b"], in_features=2)
    features = {"intent_logits": torch.tensor([[0.0, 0.0], [2.0, 0.0]])}
    decoded = head.decode(features, TextBatch(texts=["x", "y"], word_spans=[[], []], first_pieces=[[], []]))
    assert decoded[0] == {"label": "a", "score": pytest.approx(0.5)}
    assert decoded[1]["label"] == "a" and decoded[1]["score"] == pytest.approx(
        torch.tensor([2.0, 0]).softmax(0)[0].item()
    )


@pytest.mark.parametrize(
    ("task", "labels"), [("bad name", ["a"]), ("embedding", ["a"]), ("intent", []), ("intent", ["a", "a"])]
)
def test_sentence_head_rejects_bad_config(task: str, labels: list[str]) -> None:
    with pytest.raises(ValueError):
        SentenceClassificationHead(task, labels, in_features=4)


def test_sentence_head_missing_or_corrupt_weights_named(tmp_path) -> None:
    head = SentenceClassificationHead("intent", ["a", "b"], in_features=4)
    head.save(str(tmp_path))
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="model.safetensors"):
        SentenceClassificationHead.load(str(tmp_path))
    weights.unlink()
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        SentenceClassificationHead.load(str(tmp_path))


def test_sentence_head_load_passes_hub_arguments_on(tmp_path, monkeypatch) -> None:
    head = SentenceClassificationHead("intent", ["a", "b"], in_features=4)
    (tmp_path / "1_Head").mkdir()
    head.save(str(tmp_path / "1_Head"))
    seen = []
    original = SentenceClassificationHead.load_file_path

    def spy(model_name_or_path, filename, **kwargs):
        seen.append((filename, kwargs))
        return original(model_name_or_path, filename, **kwargs)

    monkeypatch.setattr(SentenceClassificationHead, "load_file_path", staticmethod(spy))
    hub = {"token": "t", "cache_folder": "c", "revision": "r", "local_files_only": True}
    loaded = SentenceClassificationHead.load(str(tmp_path), subfolder="1_Head", **hub)
    assert torch.equal(loaded.classifier[-1].weight, head.classifier[-1].weight)
    assert {filename for filename, _ in seen} == {"config.json", "model.safetensors"}
    assert all(kwargs == {"subfolder": "1_Head", **hub} for _, kwargs in seen)


def test_sentence_head_loss_is_logit_adjusted_by_training_frequencies() -> None:
    from datasets import Dataset

    head = SentenceClassificationHead("intent", ["a", "b", "c"], in_features=4)
    head.prepare_training(Dataset.from_dict({"label": ["a"] * 7 + ["b"] * 1}))  # c never seen: add-one counts
    prior = torch.tensor([8.0, 2.0, 1.0]) / 11.0
    logits, targets = torch.randn(5, 3), torch.tensor([0, 1, 2, 1, 0])
    loss = head.loss({"intent_logits": logits}, {"labels.intent": targets})
    assert loss == pytest.approx(float(torch.nn.functional.cross_entropy(logits + prior.log(), targets)))
    assert "log_prior" not in head.state_dict()  # a training setting, not part of the saved head


def test_sentence_head_loss_on_balanced_data_is_plain_cross_entropy() -> None:
    from datasets import Dataset

    head = SentenceClassificationHead("intent", ["a", "b"], in_features=4)
    head.prepare_training(Dataset.from_dict({"label": ["a", "b", "b", "a"]}))
    logits, targets = torch.randn(6, 2), torch.tensor([0, 1, 1, 0, 0, 1])
    loss = head.loss({"intent_logits": logits}, {"labels.intent": targets})
    assert loss == pytest.approx(float(torch.nn.functional.cross_entropy(logits, targets)))


class _FixedLogits:
    """A stand-in model whose ``encode(output_value=...)`` returns given logits, one row per text."""

    def __init__(self, logits: torch.Tensor) -> None:
        self.logits = logits

    def encode(self, texts: list[str], output_value: str, show_progress_bar: bool = False) -> list[torch.Tensor]:
        return list(self.logits[: len(texts)])


def _long_tail_head() -> SentenceClassificationHead:
    from datasets import Dataset

    head = SentenceClassificationHead("intent", ["common", "rare"], in_features=4)
    head.prepare_training(Dataset.from_dict({"label": ["common"] * 89 + ["rare"] * 9}))  # prior 0.9 / 0.1
    return head


def test_sentence_head_prior_weight_zero_decodes_the_plain_logits() -> None:
    head = _long_tail_head()
    logits = torch.randn(20, 2)
    # τ = 0: exactly the logits' argmax, with its softmax probability (float64 math: equal to float32 rounding)
    plain = [{"label": head.labels[i], "score": pytest.approx(float(p), abs=1e-7)}
             for p, i in zip(*logits.softmax(-1).max(-1))]  # fmt: skip
    assert head.decode({"intent_logits": logits}, batch=None) == plain


def test_sentence_head_prior_weight_moves_decisions_toward_frequent_labels() -> None:
    head = _long_tail_head()
    logits = torch.tensor([[0.0, 1.0]])  # "rare" by 1 logit; log(0.9 / 0.1) = 2.2 outweighs it at τ = 1
    assert head.decode({"intent_logits": logits}, batch=None)[0]["label"] == "rare"
    head.prior_weight = 1.0
    assert head.decode({"intent_logits": logits}, batch=None)[0]["label"] == "common"


def _log_loss(head: SentenceClassificationHead, logits: torch.Tensor, gold: list[int], weight: float) -> float:
    decision = logits.double() + weight * torch.tensor(head.prior, dtype=torch.float64).log()
    return float(torch.nn.functional.cross_entropy(decision, torch.tensor(gold)))


def test_sentence_head_calibrate_picks_the_best_dev_prior_weight_then_the_lowest_log_loss() -> None:
    from datasets import Dataset

    head = _long_tail_head()
    # Two dev rows: a "common" row whose logits lean 1.0 toward "rare", a "rare" row leaning 3.0 toward "rare".
    # τ * 2.197 must exceed 1.0 to fix the first and stay under 3.0 to keep the second: accuracy is 1.0 for every
    # τ in (0.455, 1.0], and the log loss of the two rows decides among them (the smallest τ, 0.5, did before).
    logits = torch.tensor([[0.0, 1.0], [0.0, 3.0]])
    dev = Dataset.from_dict({"text": ["a", "b"], "label": ["common", "rare"]})
    report = head.calibrate(_FixedLogits(logits), dev)
    tied = [weight for weight in head.PRIOR_WEIGHT_GRID if weight > 0.455]
    best = min(tied, key=lambda weight: _log_loss(head, logits, [0, 1], weight))
    assert report["prior_weight"] == head.prior_weight == best == 0.9
    assert report["dev_log_loss"] == pytest.approx(_log_loss(head, logits, [0, 1], best))
    assert report["dev_accuracy"] == 1.0 and report["objective"] == "accuracy"
    fixed = head.calibrate(_FixedLogits(logits), dev, prior_weight=0.0)
    assert fixed["prior_weight"] == 0.0 and fixed["dev_accuracy"] == 0.5


def test_sentence_head_calibrate_balanced_objective_keeps_rare_recall() -> None:
    from datasets import Dataset

    head = _long_tail_head()
    # Common rows: two lean to "rare" by 0.5 (fixed by any τ >= 0.25); rare row leans to "rare" by 1.0 (lost at
    # τ > 0.455). Accuracy peaks for τ in [0.25, 0.45]; balanced accuracy is 1.0 there too, and at τ = 1 it drops.
    # Among the tied τ, the class-balanced log loss (the mean of each label's mean) decides.
    logits = torch.tensor([[0.0, 0.5], [0.0, 0.5], [0.0, 1.0]])
    dev = Dataset.from_dict({"text": ["a", "b", "c"], "label": ["common", "common", "rare"]})
    report = head.calibrate(_FixedLogits(logits), dev, objective="balanced")

    def balanced_loss(weight: float) -> float:
        return (_log_loss(head, logits[:2], [0, 0], weight) + _log_loss(head, logits[2:], [1], weight)) / 2

    assert report["prior_weight"] == min([0.25, 0.3, 0.35, 0.4, 0.45], key=balanced_loss) == 0.35
    assert report["dev_balanced_accuracy"] == 1.0


def test_sentence_head_prior_and_weight_are_saved_and_restored(tmp_path) -> None:
    head = _long_tail_head()
    head.prior_weight = 0.35
    head.save(str(tmp_path))
    loaded = SentenceClassificationHead.load(str(tmp_path))
    assert loaded.prior == pytest.approx([90 / 100, 10 / 100]) and loaded.prior_weight == 0.35
    logits = torch.randn(8, 2)
    assert loaded.decode({"intent_logits": logits}, None) == head.decode({"intent_logits": logits}, None)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [("prior_weight", 1.5, "prior_weight"), ("prior", [0.5, 0.6], "must sum to 1"), ("prior", [1.0], "one value")],
)
def test_sentence_head_refuses_bad_prior_settings(key, value, message) -> None:
    with pytest.raises(ValueError, match=message):
        SentenceClassificationHead("intent", ["a", "b"], in_features=4, **{key: value})
