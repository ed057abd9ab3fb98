"""Tag schemes of token data as it comes (IOB1, IOB2, BIOES, BILOU), recognised per file and converted to IOB2.

Every head, decoder and metric of the package works in IOB2 (an entity opens with ``B-``, goes on with ``I-``).
Token files in the wild also come in three other schemes, which the readers convert on the fly:

- **IOB1** (CoNLL-2003 as distributed): an entity opens with ``I-``; ``B-`` only marks an entity that directly
  follows another of the same type. Seen as such when some ``I-X`` does not continue an ``X`` entity.
- **BIOES** (also IOBES): ``S-`` for a one-word entity, ``E-`` for the last word of a longer one.
- **BILOU**: the same with ``U-`` (unit) and ``L-`` (last).

The conversion is one rule for all four schemes, applied word by word: ``B-``, ``S-`` and ``U-`` open an entity
(``B-X``); ``I-``, ``E-`` and ``L-`` continue the entity of the previous word when it is of the same type and still
open (its tag was ``B-`` or ``I-``), giving ``I-X``; an ``I-X`` that continues nothing opens an entity (``B-X``,
IOB1). IOB2 data comes out unchanged, and a file where every entity opens with ``B-`` counts as IOB2 (it reads the
same in IOB1), as does a file with no entity at all.

A file must keep to one scheme: ``E-``/``S-`` next to ``L-``/``U-``, or either of them next to an entity opened
by ``I-``, is refused naming the line, as is an ``E-X``/``L-X`` that closes no ``X`` entity. The scheme is known
once the whole file has been read: at the end of a complete pass, a file that was not IOB2 gets one log line,
``<file>: tags converted from IOB1 to IOB2 (<n> of <total> tags changed)``, recorded in the readers' cache so that
a later run that maps the cached rows logs it again (:func:`announce`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stmtl.data.errors import DataError

if TYPE_CHECKING:
    import datasets

logger = logging.getLogger(__name__)

IOB1, IOB2, BIOES, BILOU = "IOB1", "IOB2", "BIOES", "BILOU"
_PREFIXES = frozenset("BIESLU")
_OPEN = frozenset("BI")  # prefixes after which the entity is still open
_SCHEME_OF_PREFIX = {"E": BIOES, "S": BIOES, "L": BILOU, "U": BILOU}
_logged: set[str] = set()


def tag_parts(tag: str) -> tuple[str, str | None]:
    """The prefix and entity type of a tag in any of the four schemes: ``"S-PER"`` → ``("S", "PER")``.

    Args:
        tag: ``"O"`` or ``<prefix>-<type>`` with prefix ``B``, ``I``, ``E``, ``S``, ``L`` or ``U``, a non-empty type
            and no whitespace.

    Returns:
        ``("O", None)`` for ``"O"``, else the prefix letter and the type.

    Raises:
        ValueError: If the tag is not a string or not a tag of these schemes (naming it).
    """
    if not isinstance(tag, str):
        raise ValueError(f"tag must be a string, got {type(tag).__name__} {tag!r}")
    if tag == "O":
        return "O", None
    if tag[:1] in _PREFIXES and tag[1:2] == "-" and len(tag) > 2 and not any(ch.isspace() for ch in tag):
        return tag[0], tag[2:]
    raise ValueError(
        f"unknown tag {tag!r} (expected O or B-, I-, E-, S-, L-, U- and a type: IOB1, IOB2, BIOES or BILOU scheme)"
    )


class TagSchemeScan:
    """Checks and converts the tag sequences of one source in order, learning its scheme as it goes.

    Args:
        source: The file the tags come from (named in errors and in the log line), or ``None`` for in-memory data.
        unit: What a position is called in messages: ``"line"`` for files, ``"row"`` for a dataset.
    """

    def __init__(self, source: str | os.PathLike | None, unit: str = "line") -> None:
        self.source = source
        self.unit = unit
        self.total = 0
        self.changed = 0
        self._first: dict[str, tuple[int, str]] = {}  # scheme -> (position, tag) of its first sign
        self._parts: dict[str, tuple[str, str | None]] = {}

    @property
    def scheme(self) -> str:
        """The scheme the tags read so far are in: BIOES, BILOU, IOB1 or (with no sign of another) IOB2."""
        return next((scheme for scheme in (BIOES, BILOU, IOB1) if scheme in self._first), IOB2)

    def convert(self, tags: Sequence[str], positions: int | Sequence[int]) -> list[str]:
        """The IOB2 tags of one sentence, after checking them against each other and the tags read before.

        Args:
            tags: The sentence's tags as written.
            positions: The 1-based line (or row) of the sentence, or one per tag (CoNLL: a tag per line).

        Returns:
            The IOB2 tags.

        Raises:
            DataError: Naming the source and the position, if a tag is invalid, an ``E-``/``L-`` tag closes no
                entity, or the sentence uses another scheme than the tags before it.
        """
        converted = []
        previous: tuple[str, str | None] = ("O", None)
        for index, tag in enumerate(tags):
            position = positions if isinstance(positions, int) else positions[index]
            prefix, kind = self.check(tag, position)
            if kind is None:
                converted.append("O")
                previous = (prefix, kind)
                continue
            continues = previous[1] == kind and previous[0] in _OPEN
            if prefix in "EL" and not continues:
                self._fail(f"{tag!r} closes no {kind!r} entity (it must follow B-{kind} or I-{kind})", position)
            if prefix in _SCHEME_OF_PREFIX:
                self._sign(_SCHEME_OF_PREFIX[prefix], position, tag)
            elif prefix == "I" and not continues:
                self._sign(IOB1, position, tag)
            converted.append(("I-" if continues and prefix in "IEL" else "B-") + kind)
            previous = (prefix, kind)
        self.total += len(tags)
        self.changed += sum(a != b for a, b in zip(tags, converted))
        return converted

    def finish(self) -> None:
        """Records and logs the conversion once every tag of the source has been read (a complete pass)."""
        if self.scheme == IOB2 or self.source is None:
            if self.scheme != IOB2:
                logger.warning(_message("dataset", self.scheme, self.changed, self.total))
            return
        stamp = _stamp(self.source)
        note = {"scheme": self.scheme, "changed": self.changed, "total": self.total}
        path = _note_path(stamp)
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        staging.write_text(json.dumps(note), encoding="utf-8")
        os.replace(staging, path)
        _log_once(self.source, stamp, note)

    def check(self, tag: str, position: int) -> tuple[str, str | None]:
        """The prefix and type of one tag (:func:`tag_parts`), checked as soon as it is read.

        Raises:
            DataError: Naming the source and the position, if the tag is invalid.
        """
        parts = self._parts.get(tag) if isinstance(tag, str) else None
        if parts is None:
            try:
                parts = tag_parts(tag)
            except ValueError as err:
                self._fail(str(err), position, err)
            self._parts[tag] = parts
        return parts

    def _sign(self, scheme: str, position: int, tag: str) -> None:
        # A sign of ``scheme`` at ``position``; refused if the source already showed a sign of a clashing scheme.
        if scheme in self._first:
            return
        for other, (at, seen) in self._first.items():
            if other != scheme:
                self._fail(
                    f"{_describe(scheme, tag)} after {_describe(other, seen)} on {self.unit} {at}; a file must keep "
                    "to one tag scheme (IOB1, IOB2, BIOES or BILOU)",
                    position,
                )
        self._first[scheme] = (position, tag)

    def _fail(self, message: str, position: int, cause: Exception | None = None) -> NoReturn:
        if self.source is None:
            raise DataError(f"{self.unit} {position}: {message}") from cause
        raise DataError(message, self.source, position) from cause


def convert_dataset(dataset: datasets.Dataset) -> datasets.Dataset:
    """An in-memory dataset's ``tags`` column in IOB2: ``dataset`` itself when its tags are IOB2 already.

    The check runs on Arrow batches without Python rows; only a dataset in another scheme is read row by row,
    checked like a file (positions are 1-based rows) and converted with ``Dataset.map``.

    Raises:
        DataError: Naming the row, if a tag is invalid or the rows mix schemes.
    """
    if not any(_other_scheme(batch.column("tags")) for batch in _tag_batches(dataset)):
        return dataset
    scan = TagSchemeScan(None, unit="row")
    row = 0
    for batch in _tag_batches(dataset):
        for tags in batch.column("tags").to_pylist():
            row += 1
            scan.convert(tags, row)
    scan.finish()

    def convert(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        return {"tags": [TagSchemeScan(None, unit="row").convert(tags, 0) for tags in batch["tags"]]}

    return dataset.map(convert, batched=True, desc="Converting tags to IOB2")


def _tag_batches(dataset: datasets.Dataset) -> Iterator[pa.Table]:
    return dataset.select_columns(["tags"]).with_format("arrow").iter(batch_size=100_000)


def _other_scheme(tags: pa.ChunkedArray | pa.ListArray) -> bool:
    # Whether some tag is E-/S-/L-/U-, or an I-X that does not continue an open X entity (IOB1), vectorized.
    tags = tags.combine_chunks() if isinstance(tags, pa.ChunkedArray) else tags
    flat = tags.flatten()
    if len(flat) == 0:
        return False
    prefix = pc.utf8_slice_codeunits(flat, 0, 2)
    if pc.any(pc.is_in(prefix, pa.array(["E-", "S-", "L-", "U-"]))).as_py():
        return True
    kind = pc.utf8_slice_codeunits(flat, 2, 1 << 30)
    count = len(flat)
    continues = np.zeros(count, dtype=bool)  # (tags,) the tag follows a B-/I- tag of its type
    if count > 1:
        after_open = pc.is_in(prefix.slice(0, count - 1), value_set=pa.array(["B-", "I-"]))
        same_kind = pc.equal(kind.slice(1), kind.slice(0, count - 1))
        continues[1:] = _bools(pc.and_(after_open, same_kind))
    offsets = tags.offsets.to_numpy()
    row_starts = (offsets[:-1] - offsets[0])[np.diff(offsets) > 0]
    continues[row_starts] = False  # the first tag of a row continues nothing
    return bool(np.any(_bools(pc.equal(prefix, "I-")) & ~continues))


def _bools(array: pa.Array) -> np.ndarray:
    return pc.fill_null(array, False).to_numpy(zero_copy_only=False)


def announce(source: str | os.PathLike) -> None:
    """Logs the conversion of ``source`` recorded by an earlier complete pass over its current contents, if any
    (once per process and file version); readers call it when they map cached rows instead of reading the file."""
    stamp = _stamp(source)
    path = _note_path(stamp)
    if stamp in _logged or not path.is_file():
        return
    try:
        note = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # a note is only for the log: a broken one is skipped
        return
    _log_once(source, stamp, note)


def recorded_conversion(source: str | os.PathLike) -> dict[str, Any] | None:
    """The conversion an earlier complete pass over ``source`` (as it is now) recorded, if it was not IOB2.

    Args:
        source: The tag file a reader read (a joint folder's ``<split>/seq.out``).

    Returns:
        ``{"scheme", "changed", "total"}`` (the scheme found, the tags changed and all tags), or ``None`` when
        the file was IOB2, has not been read in full since it last changed, or is missing.
    """
    try:
        note = json.loads(_note_path(_stamp(source)).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return note if isinstance(note, dict) else None


def _describe(scheme: str, tag: str) -> str:
    if scheme == IOB1:
        return f"{tag!r} opening an entity (IOB1)"
    return f"{tag!r} ({scheme})"


def _message(source: str | os.PathLike, scheme: str, changed: int, total: int) -> str:
    return f"{os.fspath(source)}: tags converted from {scheme} to IOB2 ({changed:,} of {total:,} tags changed)"


def _log_once(source: str | os.PathLike, stamp: str, note: dict[str, Any]) -> None:
    if stamp not in _logged:
        _logged.add(stamp)
        logger.warning(_message(source, note["scheme"], note["changed"], note["total"]))


def _stamp(source: str | os.PathLike) -> str:
    from stmtl.data.cached import file_stamp

    return file_stamp([source])


def _note_path(stamp: str) -> Path:
    import datasets
    from datasets.fingerprint import Hasher

    return Path(datasets.config.HF_DATASETS_CACHE) / "stmtl-readers" / f"tag-scheme-{Hasher.hash(stamp)}.json"
