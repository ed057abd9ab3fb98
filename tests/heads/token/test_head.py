from __future__ import annotations

import pytest
import torch

from stmtl.alignment import first_pieces, piece_word_ids, split_words
from stmtl.heads import TextBatch, TokenClassificationHead
from tests.conftest import make_tokenizer
from tests.helpers import TRICKY_TEXTS

TAGS = ["O", "B-x", "I-x"]


def test_token_head_shapes() -> None:
    head = TokenClassificationHead("ner", TAGS, in_features=8)
    features = head({"token_embeddings": torch.randn(2, 5, 8)})
    assert features["ner_logits"].shape == (2, 5, 3)


def test_token_head_requires_iob2_labels() -> None:
    with pytest.raises(ValueError, match="X-FOO"):
        TokenClassificationHead("ner", ["O", "X-FOO"], in_features=4)


def test_token_head_config_round_trip(tmp_path) -> None:
    head = TokenClassificationHead("slots", TAGS, in_features=8, hidden_features=6)
    head.save(str(tmp_path))
    loaded = TokenClassificationHead.load(str(tmp_path))
    assert loaded.get_config_dict() == head.get_config_dict()
    x = torch.randn(1, 3, 8)
    head.eval(), loaded.eval()
    assert torch.equal(head({"token_embeddings": x})["slots_logits"], loaded({"token_embeddings": x})["slots_logits"])


def _decode_with_word_tags(text: str, word_tags: list[str]) -> list[dict]:
    """Run the real tokenizer, put each word's tag on its first piece as a logit, decode."""
    encoding = make_tokenizer()([text], return_offsets_mapping=True)
    spans = split_words(text)
    word_ids = piece_word_ids(encoding["offset_mapping"][0], spans)
    logits = torch.zeros(1, len(word_ids), len(TAGS))
    for word, position in enumerate(first_pieces(word_ids, len(spans))):
        if position is not None:
            logits[0, position, TAGS.index(word_tags[word])] = 10.0
    head = TokenClassificationHead("ner", TAGS, in_features=4)
    positions = first_pieces(word_ids, len(spans))
    return head.decode({"ner_logits": logits}, TextBatch([text], [spans], [positions]))[0]


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_token_head_spans_exact_on_tricky_text(text: str) -> None:
    spans = split_words(text)
    # Alternate one-word and two-word entities over every word.
    tags = ["B-x" if i % 3 == 0 else ("I-x" if i % 3 == 1 else "O") for i in range(len(spans))]
    entities = _decode_with_word_tags(text, tags)
    for entity in entities:
        assert text[entity["start"] : entity["end"]] == entity["text"]
    starts = [spans[i][0] for i, tag in enumerate(tags) if tag == "B-x"]
    assert [entity["start"] for entity in entities] == starts


def test_token_head_multi_piece_entity_offsets() -> None:
    text = "  what's   the weather in São Paulo 🌧️ tomorrow?"
    # words: what's the weather in São Paulo 🌧️ tomorrow ? (the question mark is a word of its own)
    entities = _decode_with_word_tags(text, ["O", "O", "O", "O", "B-x", "I-x", "O", "B-x", "O"])
    assert [(e["text"], e["start"], e["end"]) for e in entities] == [
        ("São Paulo", 26, 35),
        ("tomorrow", 39, 47),
    ]


def test_token_head_cjk_characters_are_words() -> None:
    entities = _decode_with_word_tags("播放周杰伦的歌", ["O", "O", "B-x", "I-x", "I-x", "O", "O"])
    assert [(e["text"], e["start"], e["end"]) for e in entities] == [("周杰伦", 2, 5)]


def test_token_head_empty_text_has_no_entities() -> None:
    assert _decode_with_word_tags("", []) == []


def test_sentence_context_makes_tags_depend_on_the_sentence_embedding(tmp_path) -> None:
    torch.manual_seed(0)
    head = TokenClassificationHead("slots", TAGS, in_features=8, sentence_context=True).eval()
    tokens = torch.randn(2, 5, 8)
    one = head({"token_embeddings": tokens, "sentence_embedding": torch.randn(2, 8)})["slots_logits"]
    two = head({"token_embeddings": tokens, "sentence_embedding": torch.randn(2, 8)})["slots_logits"]
    assert one.shape == (2, 5, 3) and not torch.allclose(one, two)
    head.save(str(tmp_path))
    loaded = TokenClassificationHead.load(str(tmp_path)).eval()
    assert loaded.sentence_context and loaded.get_config_dict()["sentence_context"] is True
    features = {"token_embeddings": tokens, "sentence_embedding": torch.ones(2, 8)}
    assert torch.equal(loaded(dict(features))["slots_logits"], head(dict(features))["slots_logits"])


def test_sentence_context_off_reads_the_tokens_only() -> None:
    head = TokenClassificationHead("slots", TAGS, in_features=8).eval()
    assert head.classifier[-1].in_features == 8 and head.get_config_dict()["sentence_context"] is False
    tokens = torch.randn(1, 3, 8)
    assert torch.equal(head({"token_embeddings": tokens})["slots_logits"], head.classifier(tokens))


def test_sentence_context_checked() -> None:
    with pytest.raises(ValueError, match="sentence_context.*true or false"):
        TokenClassificationHead("slots", TAGS, in_features=8, sentence_context="yes")
    head = TokenClassificationHead("slots", TAGS, in_features=8, sentence_context=True)
    with pytest.raises(ValueError, match="as wide as the token features \\(8\\), got 4"):
        head({"token_embeddings": torch.randn(1, 3, 8), "sentence_embedding": torch.randn(1, 4)})
