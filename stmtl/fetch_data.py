"""``stmtl fetch-data``: SNIPS and STS-B dev from their public sources, checked by SHA-256, laid out as the docs'
commands expect.

Layout under the output folder (``data/`` in the docs' commands)::

    snips/{train,dev,test}/{seq.in,seq.out,label}   SNIPS, JointBERT split (13,084 / 700 / 700 utterances)
    stsb/sts-dev.csv                                STS Benchmark dev, the original file (1,500 pairs)
    stsb/dev.tsv                                    the same pairs as ``sentence1<TAB>sentence2<TAB>score``

Every file is pinned to a commit and checked against its SHA-256 before it is moved into place, so a fetched
copy is byte for byte the data the docs' figures were measured on. Files already present with the right
checksum are not downloaded again. Only the standard library is used: the command needs no model and no torch.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

SNIPS_URL = "https://raw.githubusercontent.com/monologg/JointBERT/00324f60dda4a491b2913bc3065ae93966caea3f/data/snips"
"""JointBERT (Apache-2.0 repository) at the commit the SNIPS copy was checked against; the split of Goo et al. 2018."""
STSB_URL = (
    "https://raw.githubusercontent.com/amao0o0/SynWMD/59042a92e862db58bd01e47914345d2f52d2a4a3/"
    "data/downstream/STS/STSBenchmark/stsbenchmark"
)
"""A pinned copy of the original ``Stsbenchmark.tar.gz`` contents (ixa2.si.ehu.eus/stswiki; scores CC BY-SA 4.0)."""


@dataclass(frozen=True)
class DataFile:
    """One file to fetch.

    Attributes:
        path: Where it goes, relative to the output folder.
        url: Where it comes from.
        sha256: Its expected SHA-256 (hex).
    """

    path: str
    url: str
    sha256: str


_SNIPS_SHA256 = {
    "train/seq.in": "04ad1e3f2121d83c6478f9a4b17d2dbdc21d06d6127f73cb7af835ed733f9855",
    "train/seq.out": "fd5f2121d8055827e5d6b3d3bac30f3d7e94e82a5d437751960cbdd9e1b4f6d3",
    "train/label": "bfd7df6cf9dd76c5da5d8b61bc85f90386197bdd3d7510c1d324c051537b962f",
    "dev/seq.in": "64e0f6d8ad8aab3a3828164d7d53731a0993d3ca1aed437ceaca6d3d568d410e",
    "dev/seq.out": "712e6d34feb8d52d208b820a5f8bae6e6ff990f08374507dfde22de389088319",
    "dev/label": "9c1dd041216f647bcfca838aaf1a48eb5781e4404256d31ff07cd38a5436c52f",
    "test/seq.in": "c1e341173fcea2951a8ca371956a6f81c76de87b9583c62eb87edd6158fa3a7c",
    "test/seq.out": "58c07c9097d5e1f78889765c2a535a160f6455b90b3142055c8051847afcca47",
    "test/label": "37a26da3ad079bb41c42c85a3a8f827eb47efec4c5917ce5d08f4b2736e4f830",
}

_STSB_CSV_SHA256 = "5d7e944d8b02734b07bfdb5df67db3420c64bed153fcaa1ba47ad03480cf4234"

FILES = [DataFile(f"snips/{name}", f"{SNIPS_URL}/{name}", digest) for name, digest in _SNIPS_SHA256.items()] + [
    DataFile("stsb/sts-dev.csv", f"{STSB_URL}/sts-dev.csv", _STSB_CSV_SHA256)
]
"""Every downloaded file."""

STSB_TSV = DataFile("stsb/dev.tsv", "", "ad04397e97e682b5b16362e386c742cc8843bcf9c61285f79d39f1aa5754b658")
"""``stsb/dev.tsv``, converted from ``stsb/sts-dev.csv`` by :func:`sts_csv_to_tsv` (no URL of its own)."""


class FetchError(OSError):
    """A download failed or its checksum did not match; the message names the file and the URL."""


def sha256_of(path: str | os.PathLike) -> str:
    """The SHA-256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def sts_csv_to_tsv(raw: bytes) -> bytes:
    """The original STS Benchmark rows (genre, file, year, id, score, sentence1, sentence2[, source, licence]) as
    ``sentence1<TAB>sentence2<TAB>score`` under that header; the score string is kept (e.g. ``5.000``).

    Raises:
        ValueError: If a row has fewer than 7 tab-separated fields.
    """
    lines = raw.decode("utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out = ["sentence1\tsentence2\tscore"]
    for number, line in enumerate(lines, start=1):
        fields = line.split("\t")
        if len(fields) < 7:
            raise ValueError(f"STS line {number}: expected at least 7 tab-separated fields, got {len(fields)}")
        out.append(f"{fields[5]}\t{fields[6]}\t{fields[4]}")
    return ("\n".join(out) + "\n").encode("utf-8")


def fetch_data(
    output: str | os.PathLike,
    files: list[DataFile] | None = None,
    open_url: Callable[[str], BinaryIO] | None = None,
    log: Callable[[str], None] = print,
) -> list[Path]:
    """Download ``files`` (default :data:`FILES`) under ``output``, check each checksum, and write ``stsb/dev.tsv``.

    Each file is written to a temporary name beside its destination and renamed into place only once its
    checksum matches, so an interrupted or corrupted download never leaves a file that looks complete.

    Args:
        output: The data folder (created if needed).
        files: The files to fetch.
        open_url: Opens a URL for reading (default: ``urllib.request.urlopen`` with a 60 s timeout).
        log: Receives one line per file.

    Returns:
        The paths of every file now in place, ``stsb/dev.tsv`` included when ``stsb/sts-dev.csv`` was fetched.

    Raises:
        FetchError: Naming the file and URL, if a download fails or a checksum does not match.
    """
    files = FILES if files is None else files
    open_url = open_url or (lambda url: urllib.request.urlopen(url, timeout=60))  # noqa: S310 (pinned https URLs)
    root = Path(output)
    done = []
    for item in files:
        path = root / item.path
        if path.is_file() and sha256_of(path) == item.sha256:
            log(f"{path}: present, checksum OK")
        else:
            try:
                with open_url(item.url) as response:
                    data = response.read()
            except (OSError, ValueError) as error:
                raise FetchError(f"{path}: download of {item.url} failed ({error})") from None
            _place(path, data, item.sha256, item.url)
            log(f"{path}: {len(data):,} bytes from {item.url}, checksum OK")
        done.append(path)
    csv_path = root / "stsb" / "sts-dev.csv"
    if csv_path in done:
        tsv_path = root / STSB_TSV.path
        _place(tsv_path, sts_csv_to_tsv(csv_path.read_bytes()), STSB_TSV.sha256, f"conversion of {csv_path}")
        log(f"{tsv_path}: converted from {csv_path.name}, checksum OK")
        done.append(tsv_path)
    return done


def _place(path: Path, data: bytes, sha256: str, origin: str) -> None:
    # Checked in memory, then written under a temporary name and renamed: the destination is complete or absent.
    got = hashlib.sha256(data).hexdigest()
    if got != sha256:
        raise FetchError(f"{path}: checksum mismatch for {origin} (expected sha256 {sha256}, got {got})")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        staging.write_bytes(data)
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)
