"""Sentence classification: one label per text (intents, topics), from the sentence embedding.

``head.py`` holds the head, ``decoding.py`` its torch-free decoder (label prior and its weight τ), ``metric.py``
its scores and ``errors.py`` its confusion matrix. This file only names them for the registry
(:mod:`stmtl.heads.registry`): importing it imports nothing.
"""

KIND = "sentence"
HEAD = "stmtl.heads.sentence.head.SentenceClassificationHead"
DECODER = "stmtl.heads.sentence.decoding.SentenceDecoder"
LEGACY_TYPES = ("stmtl.heads.sentence_classification.SentenceClassificationHead",)
DATA = "'label' gives task 'intent'"
