"""Render the results tables of the docs from the result files in ``docs/results/``.

Every results table in ``README.md`` and ``docs/*.md`` sits between two markers naming its result file::

    <!-- table: snips_modes.json -->
    ...generated table...
    <!-- end table -->

A result file is JSON written by a benchmark or ``stmtl compare`` (:func:`write_result`): the figures (``rows``
and the ``columns`` to show, with their formats) and where they come from (``command``, ``commit``, ``date``,
``machine``, ``versions``, and any ``seeds`` / ``data`` notes). The renderer writes the table and one provenance line
under it, so a figure in the docs is always the one in its file; ``--check`` (run by the test suite) fails when
a page differs from what its files render, e.g. after a table was edited by hand.

Usage:
    python docs/render_tables.py            # rewrite the tables in place
    python docs/render_tables.py --check    # exit 1 and list the pages whose tables are stale
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
RESULTS = DOCS / "results"
PAGES = (ROOT / "README.md", *sorted(DOCS.glob("*.md")))
BLOCK = re.compile(r"(<!-- table: (?P<name>[\w.-]+) -->\n)(?P<body>.*?)(<!-- end table -->)", re.DOTALL)


def _cell(value: Any, fmt: str | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return f"{format(value[0], fmt or '')}–{format(value[1], fmt or '')}"
    if fmt and isinstance(value, (int, float)) and not isinstance(value, bool):
        return format(value, fmt)
    return str(value).replace("|", "\\|")


def render(result: dict[str, Any]) -> str:
    """The markdown table and provenance line of one result file."""
    columns = result["columns"]
    lines = ["| " + " | ".join(column["label"] for column in columns) + " |",
             "| " + " | ".join("---" for _ in columns) + " |"]  # fmt: skip
    for row in result["rows"]:
        cells = [_cell(row.get(column["key"]), column.get("format")) for column in columns]
        lines.append("| " + " | ".join(cells) + " |")
    source = [f"`{result['command']}`"]
    for key in ("seeds", "data"):
        if result.get(key):
            source.append(f"{key}: {result[key]}")
    source.append(f"{result['machine']}, {result['date']}, commit {result['commit'][:10]}")
    lines += ["", "<sub>" + "; ".join(source) + "</sub>"]
    return "\n".join(lines) + "\n"


def render_page(text: str, results: Path = RESULTS) -> str:
    """``text`` with every table block re-rendered from its result file.

    Raises:
        FileNotFoundError: If a block names a result file that does not exist.
    """

    def block(match: re.Match[str]) -> str:
        result = json.loads((results / match["name"]).read_text(encoding="utf-8"))
        return match.group(1) + render(result) + match.group(4)

    return BLOCK.sub(block, text)


def stale_pages(pages: Sequence[Path] = PAGES, results: Path = RESULTS, write: bool = False) -> list[Path]:
    """The pages whose tables differ from what their result files render (rewritten in place with ``write``)."""
    stale = []
    for page in pages:
        if not page.is_file():
            continue
        text = page.read_text(encoding="utf-8")
        rendered = render_page(text, results)
        if rendered != text:
            stale.append(page)
            if write:
                page.write_text(rendered, encoding="utf-8")
    return stale


def machine() -> str:
    """What ran a benchmark: CPU count and model (or the GPU), for the provenance line."""
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except ImportError:
        pass
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()}-core CPU ({model})"


def write_result(
    name: str, command: str, columns: list[dict[str, Any]], rows: list[dict[str, Any]], **notes: Any
) -> Path:
    """Write ``docs/results/<name>`` for :func:`render`: the figures and where they come from.

    Args:
        name: The file name (``*.json``), as the docs' table markers name it.
        command: The command that produced the figures, as a user would type it.
        columns: ``{"key", "label", "format"}`` per shown column (``format``: a format spec such as ``.2f``).
        rows: One dict per row; values may be ``None`` (shown as –) or ``[low, high]`` ranges.
        **notes: ``seeds``, ``data`` and anything else worth keeping (e.g. the raw records).
    """
    import importlib.metadata

    versions = {}
    for package in ("stmtl", "torch", "sentence-transformers", "transformers", "peft", "onnxruntime"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    result = {
        "command": command, "columns": columns, "rows": rows, "commit": commit or "unknown",
        "date": datetime.date.today().isoformat(), "machine": machine(), "versions": versions, **notes,
    }  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="list stale pages and exit 1 instead of rewriting")
    args = parser.parse_args()
    stale = stale_pages(write=not args.check)
    for page in stale:
        print(f"{page.relative_to(ROOT)}: {'stale tables' if args.check else 'tables rewritten'}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
