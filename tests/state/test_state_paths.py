"""The state folder as given: empty, an input's or the outputs' folder, a file:// URI, one that cannot be written."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import polars as pl
import pytest

from dedup import run
from dedup.errors import ConfigError, OutputError
from dedup.state import StateLock, Store
from dedup.state.store import TABLES, Manifest
from tests.state.corpus import NIGHTS, load_nightly, write_night

FULL = "parquet: File out of specification: underlying IO error: No space left on device (os error 28)"



def test_the_library_refuses_an_empty_state_one_that_is_an_input_folder_or_the_out_folder(tmp_path):
    folder = write_night(tmp_path, 1)
    for state, out, message in [("", tmp_path / "o", "--state is empty"),
                                (folder, tmp_path / "o", "is the input folder"),
                                (tmp_path / "x", tmp_path / "x", "is the --state folder")]:
        with pytest.raises(ConfigError, match=message):
            run([folder], out, state_dir=state)
    assert sorted(p.name for p in folder.iterdir()) == ["articles.jsonl"]
    assert not (tmp_path / "o").exists() and not (tmp_path / "x").exists()


def test_nightly_refuses_an_empty_state_or_out_and_reads_a_file_uri_as_its_folder(tmp_path, monkeypatch, capsys):
    nightly = load_nightly()
    folder = write_night(tmp_path, 1)
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    out = str(tmp_path / "o")
    for flags, message in [(["--state", "", "--out", out], "--state is empty"),
                           (["--state", str(tmp_path / "s"), "--out", " "], "--out is empty"),
                           (["--state", "s3a://b/s", "--out", out],
                            "--state s3a://b/s: the local engine writes local folders only")]:
        assert nightly.main([str(folder), *flags, "--night", NIGHTS[0], "-q"]) == 2
        assert f"nightly: error: {message}" in capsys.readouterr().err
    assert not any((tmp_path / "cwd").iterdir()) and not (tmp_path / "o").exists()
    assert nightly.main([str(folder), "--state", f"file://{tmp_path}/s", "--out", f"file://{tmp_path}/o",
                         "--night", NIGHTS[0], "-q"]) == 0
    assert Store(tmp_path / "s").versions() == [1] and (tmp_path / "o" / NIGHTS[0] / "clusters.parquet").is_file()
    assert not any((tmp_path / "cwd").iterdir())


def test_nightly_interrupted_exits_130_releases_the_lock_and_leaves_no_folder(tmp_path, monkeypatch):
    nightly = load_nightly()
    folder = write_night(tmp_path, 1)

    def interrupted(inputs, out, **kwargs):
        out.mkdir(parents=True)
        raise KeyboardInterrupt

    monkeypatch.setattr(nightly, "run", interrupted)
    try:
        code = nightly.main([str(folder), "--state", str(tmp_path / "s"), "--out", str(tmp_path / "o"),
                             "--night", NIGHTS[0], "-q"])
    except KeyboardInterrupt:
        code = "KeyboardInterrupt out of main"
    assert code == 130
    log = (tmp_path / "o" / "logs" / f"{NIGHTS[0]}.log").read_text()
    assert "ERROR interrupted" in log and log.endswith(f"end night {NIGHTS[0]}: exit 130\n")
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["logs"]
    assert not (tmp_path / "s" / "lock").exists()


def test_a_state_table_that_cannot_be_written_is_exit_8_naming_the_state(tmp_path, monkeypatch):
    store = Store(tmp_path / "s")
    empty = pl.DataFrame(schema=TABLES["furniture"])

    def full(self, *args, **kwargs):
        raise pl.exceptions.ComputeError(FULL)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", full)
    with pytest.raises(OutputError) as err:
        store.write_file("furniture", NIGHTS[0], 1, empty)
    assert err.value.exit_code == 8
    assert str(err.value) == f"cannot write the state in {tmp_path / 's'}: No space left on device"

    def other(self, *args, **kwargs):
        raise pl.exceptions.ComputeError("a polars error of its own")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", other)   # not taken for a full disk
    with pytest.raises(pl.exceptions.ComputeError):
        store.write_file("furniture", NIGHTS[0], 1, empty)


def test_a_manifest_or_a_lock_that_cannot_be_written_is_exit_8_naming_the_state(tmp_path, monkeypatch):
    manifest = Manifest(version=1, parent=None, night=NIGHTS[0], fingerprint="f", parameters={}, dedup_version="0")

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(Path, "write_text", read_only)
    with pytest.raises(OutputError, match=f"^cannot write the state in {tmp_path / 's'}: Read-only file system$"):
        Store(tmp_path / "s").commit(manifest)
    (tmp_path / "s").mkdir(exist_ok=True)
    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(OutputError, match=f"^cannot write the state in {tmp_path / 's'}: Read-only file system$"):
        StateLock(tmp_path / "s").acquire()


def test_a_state_folder_that_cannot_be_made_is_exit_8_not_a_refused_state(tmp_path, monkeypatch):
    from dedup.state.night import make_state_folder

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(Path, "mkdir", denied)
    with pytest.raises(OutputError, match="^cannot write the state in .*: Permission denied$") as caught:
        make_state_folder(tmp_path / "new-state")
    assert caught.value.exit_code == 8


def test_nightly_on_a_full_state_disk_exits_8_not_1(tmp_path, monkeypatch):
    nightly = load_nightly()
    folder = write_night(tmp_path, 1)

    def full(self, *args, **kwargs):
        raise pl.exceptions.ComputeError(FULL)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", full)
    assert nightly.main([str(folder), "--state", str(tmp_path / "s"), "--out", str(tmp_path / "o"),
                         "--night", NIGHTS[0], "-q"]) == 8
    log = (tmp_path / "o" / "logs" / f"{NIGHTS[0]}.log").read_text()
    assert f"dedup: error: cannot write the state in {tmp_path / 's'}: No space left on device" in log
    assert not (tmp_path / "s" / "lock").exists() and Store(tmp_path / "s").versions() == []


def test_a_state_folder_named_with_glob_characters_keeps_its_history(tmp_path):
    """polars reads a path with ``[ ]`` or ``*`` as a pattern: "state[1]" read no stored row (silently a new
    state every night). Story A's night-2 outlet joins the story stored on night 1, as in any state folder."""
    for name in ("plain", "state[1]"):
        for n in (1, 2):
            result = run([write_night(tmp_path / "in" / name, n)], tmp_path / "out" / name / str(n),
                         state_dir=tmp_path / name, night=NIGHTS[n - 1])
        story = result.clusters.filter(pl.col("article_id") == "a-o2")
        assert story["cluster_size"].item() == 3 and story["story_status"].item() == "grew", name
        assert result.summary["history"]["prior_in_window"] > 0
