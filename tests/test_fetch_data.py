from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import stmtl.fetch_data as fetch
from stmtl.cli import main
from tests.conftest import SHARED_DATA

STS_ROWS = (
    "main-captions\tMSRvid\t2012test\t0000\t5.000\tA man with a hard hat is dancing.\t"
    "A man wearing a hard hat is dancing.\n"
    'main-forum\tdeft-forum\t2014\t0001\t0.800\tHe said "no".\tShe left.\tsource-x\tlicence-y\n'
)
STS_TSV = (
    "sentence1\tsentence2\tscore\n"
    "A man with a hard hat is dancing.\tA man wearing a hard hat is dancing.\t5.000\n"
    'He said "no".\tShe left.\t0.800\n'
)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def mirror(tmp_path, monkeypatch) -> Path:
    """A local copy of the sources as file:// URLs, with the checksums of what it holds."""
    source = tmp_path / "mirror"
    contents = {f"snips/{name}": f"{name} line\n".encode() for name in fetch._SNIPS_SHA256}
    contents["stsb/sts-dev.csv"] = STS_ROWS.encode()
    files = []
    for relative, data in contents.items():
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        (source / relative).write_bytes(data)
        files.append(fetch.DataFile(relative, (source / relative).as_uri(), _sha(data)))
    monkeypatch.setattr(fetch, "FILES", files)
    monkeypatch.setattr(fetch, "STSB_TSV", fetch.DataFile("stsb/dev.tsv", "", _sha(STS_TSV.encode())))
    return source


def test_fetch_data_lays_out_the_readme_paths(mirror, tmp_path, capsys) -> None:
    out = tmp_path / "data"
    assert main(["fetch-data", "--output", str(out)]) == 0
    for split in ("train", "dev", "test"):
        for name in ("seq.in", "seq.out", "label"):
            assert (out / "snips" / split / name).read_text() == f"{split}/{name} line\n"
    assert (out / "stsb" / "dev.tsv").read_text() == STS_TSV
    assert not list(out.rglob(".*tmp*"))
    capsys.readouterr()
    assert main(["fetch-data", "--output", str(out)]) == 0  # a second run downloads nothing
    assert capsys.readouterr().out.count("present, checksum OK") == len(fetch.FILES)


def test_fetch_data_refuses_a_file_with_the_wrong_checksum(mirror, tmp_path, capsys) -> None:
    (mirror / "snips" / "dev" / "label").write_bytes(b"tampered\n")
    out = tmp_path / "data"
    assert main(["fetch-data", "--output", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("stmtl: error:") and "\n" not in err
    assert "dev/label" in err and "checksum mismatch" in err
    assert not (out / "snips" / "dev" / "label").exists()  # never moved into place


def test_fetch_data_failed_download_names_the_url(mirror, tmp_path) -> None:
    (mirror / "stsb" / "sts-dev.csv").unlink()
    with pytest.raises(fetch.FetchError, match=r"sts-dev\.csv.*download of file://"):
        fetch.fetch_data(tmp_path / "data", log=lambda line: None)


def test_sts_csv_to_tsv_keeps_fields_6_7_5_and_the_score_string() -> None:
    assert fetch.sts_csv_to_tsv(STS_ROWS.encode()).decode() == STS_TSV
    with pytest.raises(ValueError, match="line 1"):
        fetch.sts_csv_to_tsv(b"too\tfew\n")


@pytest.mark.skipif(not (SHARED_DATA / "snips").is_dir(), reason="needs the shared data folder")
def test_fetch_data_checksums_match_the_data_the_readme_used(tmp_path) -> None:
    for item in fetch.FILES:
        assert fetch.sha256_of(SHARED_DATA / item.path) == item.sha256, item.path
    converted = fetch.sts_csv_to_tsv((SHARED_DATA / "stsb" / "sts-dev.csv").read_bytes())
    assert _sha(converted) == fetch.STSB_TSV.sha256 == fetch.sha256_of(SHARED_DATA / "stsb" / "dev.tsv")
    # The shared copy, served as file:// URLs, is accepted as a download.
    files = [fetch.DataFile(item.path, (SHARED_DATA / item.path).as_uri(), item.sha256) for item in fetch.FILES]
    done = fetch.fetch_data(tmp_path, files, log=lambda line: None)
    assert tmp_path / "stsb" / "dev.tsv" in done and (tmp_path / "snips" / "train" / "seq.in").is_file()
