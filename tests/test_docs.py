"""The docs' results tables are rendered from docs/results/*.json: a page that differs from its files is stale."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tables():
    spec = importlib.util.spec_from_file_location("render_tables", ROOT / "docs" / "render_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_tables_match_their_result_files(tables) -> None:
    assert [str(page.relative_to(ROOT)) for page in tables.stale_pages()] == []


def test_docs_every_table_block_names_an_existing_result_file(tables) -> None:
    for page in tables.PAGES:
        for match in tables.BLOCK.finditer(page.read_text(encoding="utf-8")):
            assert (tables.RESULTS / match["name"]).is_file(), f"{page.name}: {match['name']}"


def test_docs_a_table_edited_by_hand_is_stale(tables, tmp_path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    result = {
        "command": "python bench.py", "columns": [{"key": "m", "label": "method"}, {"key": "acc", "label": "acc",
        "format": ".2f"}], "rows": [{"m": "adapter", "acc": 98.123}], "commit": "0123456789abcdef",
        "date": "2026-12-05", "machine": "2-core CPU", "seeds": "0, 1, 2",
    }  # fmt: skip
    (results / "r.json").write_text(json.dumps(result))
    page = tmp_path / "page.md"
    page.write_text("Intro.\n\n<!-- table: r.json -->\n<!-- end table -->\n\nOutro.\n")
    assert tables.stale_pages([page], results, write=True) == [page]
    text = page.read_text()
    assert "| adapter | 98.12 |" in text and "`python bench.py`; seeds: 0, 1, 2; 2-core CPU, 2026-12-05" in text
    assert tables.stale_pages([page], results) == []
    page.write_text(text.replace("98.12", "99.12"))
    assert tables.stale_pages([page], results) == [page]


LINK = re.compile(r"\[[^\]]*\]\((?P<target>[^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
CODE = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$", re.MULTILINE)


def markdown_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def slug(title: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", title.replace("`", "").strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(match["title"]) for match in HEADING.finditer(FENCE.sub("", page.read_text(encoding="utf-8")))}


def relative_links(page: Path) -> list[str]:
    text = CODE.sub("", FENCE.sub("", page.read_text(encoding="utf-8")))
    return [m["target"] for m in LINK.finditer(text) if not re.match(r"[a-z][a-z0-9+.-]*:", m["target"], re.I)]


def test_docs_readme_is_at_most_300_lines() -> None:
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 300


@pytest.mark.parametrize("page", markdown_pages(), ids=lambda page: page.name)
def test_docs_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(target)
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(target)
    assert broken == []


def test_docs_slug_follows_github() -> None:
    assert slug("Task 1 — the sentence encoder") == "task-1--the-sentence-encoder"
    assert slug("Encoder modes: adapter, full, full + preservation") == "encoder-modes-adapter-full-full--preservation"
    assert slug("What `predict` returns") == "what-predict-returns"
