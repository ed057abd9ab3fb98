"""Who may know what: heads import nothing of training; no module outside stmtl/heads names a head class."""

from __future__ import annotations

import ast
from pathlib import Path

from stmtl.heads.registry import head_class_names

PACKAGE = Path(__file__).resolve().parents[2] / "stmtl"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _code_names(path: Path) -> set[str]:
    # Identifiers and string constants of the code, docstrings left out.
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.alias):
            names.add(node.name.rpartition(".")[2])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            names.update(part.rpartition(".")[2] for part in node.value.split())
    return names


def test_no_module_under_heads_imports_training() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in (PACKAGE / "heads").rglob("*.py")
        if any(name == "stmtl.training" or name.startswith("stmtl.training.") for name in _imports(path))
    ]
    assert offenders == []


def test_no_module_outside_heads_names_a_head_class() -> None:
    classes = set(head_class_names())
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(found)
        for path in PACKAGE.rglob("*.py")
        if "heads" not in path.relative_to(PACKAGE).parts[:1] and (found := _code_names(path) & classes)
    }
    assert offenders == {}
