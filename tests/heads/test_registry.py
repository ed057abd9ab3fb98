"""The registry of head kinds: builtin kinds without torch, saved type names (legacy ones too), registration."""

from __future__ import annotations

import subprocess
import sys

import pytest

from stmtl.heads import SentenceClassificationHead, TaskHead
from stmtl.heads.registry import (
    class_of_type,
    head_types,
    kind_of_type,
    kinds,
    register_head,
    type_names,
    unregister_head,
)


def test_registry_builtin_kinds_and_types_without_torch() -> None:
    script = (
        "import sys; sys.modules['torch'] = None\n"
        "from stmtl.heads import registry\n"
        "print(registry.kinds(), registry.kind_of_type('stmtl.heads.token_classification.TokenClassificationHead'))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['sentence', 'token', 'multilabel', 'regression'] token"


def test_registry_current_and_legacy_type_names_resolve_to_the_class() -> None:
    assert kinds()[:4] == ["sentence", "token", "multilabel", "regression"]
    for kind, cls in head_types().items():
        assert class_of_type(f"{cls.__module__}.{cls.__name__}") is cls and cls.kind == kind
    legacy = "stmtl.heads.sentence_classification.SentenceClassificationHead"
    assert legacy in type_names() and class_of_type(legacy) is SentenceClassificationHead
    assert kind_of_type("evil.module.Head") is None
    with pytest.raises(ValueError, match="refusing head type 'evil.module.Head': not a registered head kind"):
        class_of_type("evil.module.Head")


class Echo(TaskHead):
    kind = "echo"


class Other(TaskHead):
    kind = "echo"


def test_register_head_checks_and_is_idempotent() -> None:
    try:
        assert register_head(Echo) is Echo and register_head(Echo) is Echo
        assert "echo" in kinds() and kind_of_type(f"{__name__}.Echo") == "echo"
        with pytest.raises(ValueError, match="head kind 'echo' is already registered"):
            register_head(Other)
    finally:
        unregister_head("echo")
    assert "echo" not in kinds()
    with pytest.raises(TypeError, match="takes a TaskHead subclass"):
        register_head(object)
    Bad = type("Bad", (TaskHead,), {"kind": "Not A Kind"})
    with pytest.raises(ValueError, match="kind must be lowercase letters"):
        register_head(Bad)
    with pytest.raises(ValueError, match="builtin and stays registered"):
        unregister_head("sentence")
    with pytest.raises(ValueError, match="already registered"):
        register_head(type("Sentence2", (TaskHead,), {"kind": "sentence"}))


def test_classification_head_subclass_checks_its_labels() -> None:
    from stmtl.heads import ClassificationHead

    Colour = type("Colour", (ClassificationHead,), {"kind": "colour", "label_column": "colour"})
    assert Colour("colour", ["red", "blue"], 4).num_labels == 2
    with pytest.raises(ValueError, match="head 'colour': key 'labels': must be distinct, 'red' is repeated"):
        Colour("colour", ["red", "red"], 4)
