"""The registry of head kinds: the one place that knows which kinds exist, their classes and saved type names.

A *kind* (``sentence``, ``token``, ``multilabel``, ``regression``, or one registered from outside the package) is
a :class:`~stmtl.heads.base.TaskHead` subclass with its torch-free decoder (what ``predict`` and the ONNX runner
decode logits with). The package's own kinds live one folder each under ``stmtl/heads/``; :data:`BUILTIN_KINDS`
names those folders, one line per kind. Each folder's ``__init__.py`` is a few constants (no imports): its
:data:`KIND`, the dotted path of its head class and of its decoder, the type names models saved before the class
moved carry, and a line describing the data it reads. So asking which kinds exist, or which kind a saved type name
is, imports neither torch nor the kind's code: the CLI's ``--help`` and the ONNX runner rely on it.

Every other module asks this registry: the readers (which columns exist), task inference, training, loading. A
saved model's ``heads.json`` names classes by type; a type resolves only to a registered class (or one of its legacy
names): nothing named in a file is ever imported.

A kind defined outside the package registers its class before training or loading::

    @stmtl.register_head
    class StarRatingHead(TaskHead):
        kind = "stars"
        ...
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

BUILTIN_KINDS = (
    "stmtl.heads.sentence",
    "stmtl.heads.token",
    "stmtl.heads.multilabel",
    "stmtl.heads.regression",
)
"""The packages of stmtl's own kinds, in the order tasks are inferred and listed."""

_KIND_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass
class Kind:
    """One registered kind.

    Attributes:
        kind: Its name (``TaskConfig.kind``).
        head_type: The saved type name of its head class (``f"{cls.__module__}.{cls.__name__}"``).
        decoder_path: Dotted path of its torch-free decoder class (``None``: none known without the head class).
        legacy_types: Older type names of its head class, which models saved before a move carry.
        data: What data gives a task of this kind, for help texts.
        readers: Dotted paths of the readers of file formats the kind brings, by suffix (e.g. CoNLL).
        builtin: Whether it is one of :data:`BUILTIN_KINDS`.
        head_class: The class, once imported or registered.
    """

    kind: str
    head_type: str
    decoder_path: str | None = None
    legacy_types: tuple[str, ...] = ()
    data: str = ""
    readers: dict[str, str] = field(default_factory=dict)
    builtin: bool = False
    head_class: Any = field(default=None, repr=False)


_lock = threading.RLock()
_kinds: dict[str, Kind] = {}
_loaded = False


def _builtin() -> None:
    # Read the builtin kinds' constants once (their __init__ modules import nothing).
    global _loaded
    with _lock:
        if _loaded:
            return
        for package in BUILTIN_KINDS:
            spec = importlib.import_module(package)
            legacy = tuple(getattr(spec, "LEGACY_TYPES", ()))
            readers = dict(getattr(spec, "READERS", {}))
            _kinds.setdefault(spec.KIND, Kind(spec.KIND, spec.HEAD, spec.DECODER, legacy, spec.DATA, readers, True))
        _loaded = True


def _import(dotted: str) -> Any:
    # A class of this package by its dotted path, from the constants above (never a name read from a file).
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def kinds() -> list[str]:
    """Every registered kind, builtin ones first, in registration order (imports no head code)."""
    _builtin()
    return list(_kinds)


def describe_kinds() -> list[str]:
    """One line per kind: what data gives a task of it (imports no head code)."""
    _builtin()
    return [f"{entry.data} ({entry.kind})" if entry.data else entry.kind for entry in _kinds.values()]


def head_class(kind: str) -> Any:
    """The head class of ``kind``.

    Raises:
        ValueError: If no kind of that name is registered, naming the registered ones.
    """
    _builtin()
    entry = _kinds.get(kind)
    if entry is None:
        raise ValueError(
            f"{kind!r} is not a head kind ({', '.join(_kinds)}); a kind defined outside stmtl must be registered "
            "first: stmtl.register_head(YourHead)"
        )
    if entry.head_class is None:
        entry.head_class = _import(entry.head_type)
    return entry.head_class


def head_class_names() -> list[str]:
    """The class name of every registered kind's head, builtin ones first (no import)."""
    _builtin()
    return [entry.head_type.rpartition(".")[2] for entry in _kinds.values()]


def head_types() -> dict[str, Any]:
    """Every kind's head class, by kind (imports them all)."""
    return {kind: head_class(kind) for kind in kinds()}


def kind_of_type(type_name: str) -> str | None:
    """The kind whose head class a saved type name (current or legacy) names; ``None`` if none does (no import)."""
    _builtin()
    for entry in _kinds.values():
        if type_name == entry.head_type or type_name in entry.legacy_types:
            return entry.kind
    return None


def type_names() -> list[str]:
    """Every saved type name that resolves to a registered head class, legacy names included (no import)."""
    _builtin()
    return [name for entry in _kinds.values() for name in (entry.head_type, *entry.legacy_types)]


def class_of_type(type_name: str) -> Any:
    """The registered head class a saved type name names.

    Raises:
        ValueError: One line naming the type (and the kind, when the name reads as a class of an unknown kind) and
            how to register it.
    """
    kind = kind_of_type(type_name)
    if kind is None:
        raise ValueError(unknown_type_message(type_name))
    return head_class(kind)


def unknown_type_message(type_name: str, kind: str | None = None) -> str:
    """Why a saved head type does not load, and how to make it load.

    Args:
        type_name: The saved ``type``.
        kind: The saved ``kind``, when the manifest records it.
    """
    _builtin()
    if kind in _kinds:  # a registered kind under another class: not something registering can fix
        return f"refusing head type {type_name!r}: kind {kind!r} is {_kinds[kind].head_type}"
    class_name = type_name.rpartition(".")[2]
    named = f" (kind {kind!r})" if kind else ""
    return (
        f"refusing head type {type_name!r}{named}: not a registered head kind; import the module that defines "
        f"{class_name} and call stmtl.register_head({class_name}) before loading (registered kinds: "
        f"{', '.join(kinds())})"
    )


def decoder_class(kind: str) -> Any:
    """The torch-free decoder class of ``kind``, or ``None`` when the kind has none.

    A builtin kind's decoder imports without its head (no torch); a registered kind's is its class's
    ``decoder_class``.

    Raises:
        ValueError: If ``kind`` is not registered.
    """
    _builtin()
    entry = _kinds.get(kind)
    if entry is None:
        raise ValueError(f"unknown head kind {kind!r} (known: {', '.join(_kinds)})")
    if entry.decoder_path is not None:
        return _import(entry.decoder_path)
    return getattr(entry.head_class, "decoder_class", None)


def file_readers() -> dict[str, Any]:
    """The readers of file formats kinds bring, by lowercase suffix (e.g. ``.conll``), imported."""
    _builtin()
    return {suffix: _import(path) for entry in _kinds.values() for suffix, path in entry.readers.items()}


def reader_suffixes() -> list[str]:
    """The suffixes of :func:`file_readers` (no import)."""
    _builtin()
    return [suffix for entry in _kinds.values() for suffix in entry.readers]


def register_head(cls: Any) -> Any:
    """Register a head class defined outside stmtl as the kind ``cls.kind``; usable as a decorator.

    After it, tasks of that kind train (``TaskConfig(name, kind, ...)``), and models whose ``heads.json`` names the
    class load. Registering the same class again does nothing.

    Args:
        cls: A :class:`~stmtl.heads.base.TaskHead` subclass with a ``kind`` of lowercase letters, digits and ``_``,
            importable by its module (a class defined in ``__main__`` saves but cannot be found again when loading).

    Returns:
        ``cls``.

    Raises:
        TypeError: If ``cls`` is not a ``TaskHead`` subclass.
        ValueError: If its kind is malformed, or the kind or its type name is already another class's.
    """
    from stmtl.heads.base import TaskHead

    if not isinstance(cls, type) or not issubclass(cls, TaskHead):
        raise TypeError(f"register_head takes a TaskHead subclass, got {cls!r}")
    kind = getattr(cls, "kind", "")
    if not isinstance(kind, str) or not _KIND_NAME.match(kind):
        raise ValueError(f"{cls.__name__}.kind must be lowercase letters, digits and '_', got {kind!r}")
    type_name = f"{cls.__module__}.{cls.__name__}"
    _builtin()
    with _lock:
        entry = _kinds.get(kind)
        if entry is not None:
            if entry.head_class is cls or (entry.head_class is None and entry.head_type == type_name):
                entry.head_class = cls
                return cls
            raise ValueError(f"head kind {kind!r} is already registered ({entry.head_type})")
        if kind_of_type(type_name) is not None:
            raise ValueError(f"{type_name} is already registered as kind {kind_of_type(type_name)!r}")
        _kinds[kind] = Kind(kind, type_name, data=getattr(cls, "data_description", ""), head_class=cls)
    return cls


def unregister_head(kind: str) -> None:
    """Remove a kind registered with :func:`register_head` (builtin kinds stay).

    Raises:
        ValueError: If ``kind`` is builtin.
    """
    _builtin()
    with _lock:
        entry = _kinds.get(kind)
        if entry is not None and entry.builtin:
            raise ValueError(f"head kind {kind!r} is builtin and stays registered")
        _kinds.pop(kind, None)


class HeadTypes(Mapping):
    """A live read-only view of the registry: kind → head class (what ``stmtl.heads.HEAD_TYPES`` is)."""

    def __getitem__(self, kind: str) -> Any:
        if kind not in kinds():
            raise KeyError(kind)
        return head_class(kind)

    def __iter__(self) -> Iterator[str]:
        return iter(kinds())

    def __len__(self) -> int:
        return len(kinds())


class SavedTypes(Mapping):
    """A live read-only view: saved type name (current or legacy) → head class, as sentence-transformers' loader
    looks classes up (``MultiTaskSentenceTransformer._module_classes``)."""

    def __getitem__(self, type_name: str) -> Any:
        if kind_of_type(type_name) is None:
            raise KeyError(type_name)
        return class_of_type(type_name)

    def __iter__(self) -> Iterator[str]:
        return iter(type_names())

    def __len__(self) -> int:
        return len(type_names())
