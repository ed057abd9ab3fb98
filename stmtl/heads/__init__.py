"""Task heads: sentence-transformers modules that add a task's logits to the features dict.

``HEAD_TYPES`` is the one registry of head classes, by ``kind`` (the name a training config uses). A new task
type is one file in this package and one entry here.
"""

from stmtl.heads.base import TaskHead, TextBatch
from stmtl.heads.multilabel_classification import MultiLabelClassificationHead
from stmtl.heads.sentence_classification import SentenceClassificationHead
from stmtl.heads.token_classification import TokenClassificationHead

HEAD_TYPES: dict[str, type[TaskHead]] = {
    cls.kind: cls for cls in (SentenceClassificationHead, TokenClassificationHead, MultiLabelClassificationHead)
}

__all__ = [
    "HEAD_TYPES",
    "MultiLabelClassificationHead",
    "SentenceClassificationHead",
    "TaskHead",
    "TextBatch",
    "TokenClassificationHead",
]
