"""Sentence regression: a number per text (a rating, an urgency score), from the sentence embedding.

``head.py`` holds the head, ``decoding.py`` its torch-free decoder (the head's output back in the target's unit)
and ``metric.py`` its scores (Pearson, Spearman, MAE). This file only names them for the registry
(:mod:`stmtl.heads.registry`): importing it imports nothing.
"""

KIND = "regression"
HEAD = "stmtl.heads.regression.head.SentenceRegressionHead"
DECODER = "stmtl.heads.regression.decoding.RegressionDecoder"
DATA = "a column of numbers gives a task of its name"
