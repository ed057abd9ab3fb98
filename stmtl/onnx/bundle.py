"""Copy of a model folder with only what the ONNX runner reads: ``onnx/export.json``, the tokenizer, one backend's
graphs and the heads' ``config.json`` files (no PyTorch weights, checkpoints or plots).

Standard library only, so it runs where stmtl is not installed (the first stage of ``Dockerfile.serve``)::

    python stmtl/onnx/bundle.py MODEL_FOLDER TARGET_FOLDER --backend onnx-int8

The runner checks the copy as it checks the folder; the weights the export came from are simply absent, so their
staleness check is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

BACKENDS = ("onnx", "onnx-int8")


def bundle(folder: str | os.PathLike, target: str | os.PathLike, backend: str = "onnx-int8") -> list[str]:
    """Copy what ``stmtl.load(folder, backend=backend)`` reads from ``folder`` into ``target`` (a new folder).

    Returns:
        The copied paths, relative to the folders.

    Raises:
        FileNotFoundError: If ``folder`` has no export, or not for ``backend``.
        ValueError: If ``backend`` is unknown, ``target`` exists, or the manifest names a path outside ``folder``.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r} (known: {', '.join(BACKENDS)})")
    folder, target = Path(folder), Path(target)
    manifest_path = folder / "onnx" / "export.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{manifest_path}: no ONNX export (stmtl export --model {folder})")
    if target.exists():
        raise ValueError(f"{target}: already exists")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    wanted = ["onnx/export.json", f"onnx/{manifest['tokenizer']['file']}"]
    for name, graph in manifest["graphs"].items():
        if backend not in graph["files"]:
            raise FileNotFoundError(f"{manifest_path}: the {name} graph has no {backend} file (export it first)")
        wanted.append(f"onnx/{graph['files'][backend]['file']}")
    wanted += [head["config"] for head in manifest["heads"]]
    root = os.path.realpath(folder)
    for relative in wanted:
        source = os.path.realpath(folder / relative)
        if not source.startswith(root + os.sep):
            raise ValueError(f"{manifest_path}: {relative!r} lies outside {folder}")
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
    return wanted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="an exported model folder (stmtl export)")
    parser.add_argument("target", help="the new folder")
    parser.add_argument("--backend", choices=BACKENDS, default="onnx-int8")
    args = parser.parse_args()
    copied = bundle(args.folder, args.target, args.backend)
    size = sum((Path(args.target) / relative).stat().st_size for relative in copied)
    print(f"{args.target}: {len(copied)} files, {size / 1e6:.1f} MB ({args.backend})")


if __name__ == "__main__":
    main()
