"""Multi-label classification: any number of labels per text, from the sentence embedding.

``head.py`` holds the head, ``decoding.py`` its torch-free decoder (a threshold per model) and ``metric.py`` its
scores. This file only names them for the registry (:mod:`stmtl.heads.registry`): importing it imports nothing.
"""

KIND = "multilabel"
HEAD = "stmtl.heads.multilabel.head.MultiLabelClassificationHead"
DECODER = "stmtl.heads.multilabel.decoding.MultiLabelDecoder"
LEGACY_TYPES = ("stmtl.heads.multilabel_classification.MultiLabelClassificationHead",)
DATA = "'labels' gives task 'labels'"
