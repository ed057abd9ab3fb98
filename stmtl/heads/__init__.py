"""Task heads: sentence-transformers modules that add a task's logits to the features dict."""

from stmtl.heads.base import TaskHead, TextBatch
from stmtl.heads.sentence_classification import SentenceClassificationHead
from stmtl.heads.token_classification import TokenClassificationHead

__all__ = ["TaskHead", "TextBatch", "SentenceClassificationHead", "TokenClassificationHead"]
