"""Dockerfile and Dockerfile.serve, read as text: what a build on a machine without Docker can still check.

Building and running the images is checked with podman outside the suite; these tests pin the parts that broke or
drifted there: the working folder the quick start writes into, the pinned versions, the build context.
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _instructions(name: str) -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / name).read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def _pins() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    requirements = [Requirement(line) for line in lines if line.strip() and line[0] not in "#-"]
    return {canonicalize_name(r.name): next(iter(r.specifier)).version for r in requirements}


def test_dockerfile_workdir_belongs_to_the_runtime_user() -> None:
    """The quick start (the default command) creates runs/ in the working folder as the unprivileged user."""
    steps = _instructions("Dockerfile")
    workdir = next(args for keyword, args in steps if keyword == "WORKDIR")
    user_at = next(i for i, (keyword, _) in enumerate(steps) if keyword == "USER")
    assert steps[user_at][1].split(":")[0] in ("1000", "stmtl")
    folder = re.escape(workdir)
    made_theirs = re.compile(rf"install -d -o stmtl\b.*\s{folder}\b|chown\s+(-R\s+)?stmtl\S*\s+{folder}\b")
    assert any(keyword == "RUN" and made_theirs.search(args) for keyword, args in steps[:user_at]), workdir


def test_dockerfiles_install_at_the_pinned_versions() -> None:
    installs = {"Dockerfile": "/tmp/requirements.txt", "Dockerfile.serve": "requirements-serve.txt"}
    for name, requirements in installs.items():
        steps = _instructions(name)
        assert any(keyword == "COPY" and "constraints.txt" in args.split() for keyword, args in steps), name
        install = f"pip install -r {requirements} -c constraints.txt"
        assert any(keyword == "RUN" and install in args for keyword, args in steps), f"{name}: no `{install}`"


def test_serve_requirements_are_pinned_inside_their_ranges() -> None:
    pins = _pins()
    lines = (ROOT / "requirements-serve.txt").read_text(encoding="utf-8").splitlines()
    for requirement in (Requirement(line) for line in lines if line.strip() and line[0] not in "#-"):
        version = pins.get(canonicalize_name(requirement.name))
        assert version is not None, f"constraints.txt pins no version of {requirement.name}"
        assert requirement.specifier.contains(version, prereleases=True), f"{requirement.name}=={version}"


def test_dockerignore_keeps_environments_runs_and_caches_out_of_the_context() -> None:
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()}
    assert {".git", ".venv", ".ci-venv", "venv", "runs", "**/__pycache__", ".pytest_cache", ".ruff_cache"} <= ignored
