"""A state file complete in size but damaged (bytes in the middle overwritten, which the sizes checked on open
cannot see) is the state's refusal, exit 5, naming the file and the way back, as a file missing or cut short
is (tests/state/test_storage_faults.py): not polars' error, which names no file, and a traceback."""

from __future__ import annotations

import shutil

import polars as pl
import pytest
from click.testing import CliRunner

from dedup.cli import main as cli
from dedup.state import Store
from tests.state.corpus import (
    NIGHTS,
    check_way_back,
    three_nights,
)


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """A state of nights 1 and 2 (versions 1 and 2), and night 3's outputs run on a copy of it."""
    return three_nights(tmp_path_factory.mktemp("damage"), "copy")


def _damage(state, table: str, night: str) -> str:
    """Overwrite 16 bytes of the newest version's file of ``table`` and ``night``, from a tenth of it on, at the
    first place where the file then no longer reads (its size unchanged); its path in the state."""
    rel = Store(state).manifest().tables[table][night]
    path = state / rel
    good = path.read_bytes()
    for at in range(len(good) // 10, len(good) - 16):
        path.write_bytes(good[:at] + b"\xff" * 16 + good[at + 16:])
        try:
            pl.read_parquet(path)
        except pl.exceptions.PolarsError:
            return rel
    raise AssertionError(f"no 16 bytes of {rel} make it unreadable")


def _night3(nights, state, out):
    return CliRunner().invoke(cli, ["cluster", str(nights / "in" / NIGHTS[2]), "--state", str(state),
                                    "--out", str(out), "--night", NIGHTS[2], "-q"])


def test_a_damaged_file_of_the_newest_night_is_refused_with_the_way_back(nights, tmp_path):
    state = tmp_path / "state"
    shutil.copytree(nights / "state", state)
    rel = _damage(state, "articles", NIGHTS[1])
    res = _night3(nights, state, tmp_path / "out")
    assert res.exit_code == 5, res.output
    manifest = state / "_manifests" / "000002.json"
    assert res.output.startswith(f"dedup: error: state {state}: version 2 is damaged, its file {rel} cannot be "
                                 "read (parquet: ")
    assert res.output.endswith(f"; version 1 is complete: remove {manifest} to go back to it, then run night "
                               f"{NIGHTS[1]} again\n")
    assert res.output.count("\n") == 1 and Store(state).versions() == [1, 2] and not (state / "lock").exists()
    manifest.unlink()   # the way back: nights 2 and 3 run again as before
    check_way_back(nights, state, tmp_path)


def test_a_damaged_file_every_version_names_has_no_way_back_but_a_backup(nights, tmp_path):
    state = tmp_path / "state"
    shutil.copytree(nights / "state", state)
    rel = _damage(state, "assignments", NIGHTS[0])   # night 1's: version 1 names it too
    res = _night3(nights, state, tmp_path / "out")
    assert res.exit_code == 5, res.output
    assert res.output.startswith(f"dedup: error: state {state}: version 2 is damaged, its file {rel} cannot be read")
    assert res.output.endswith("no earlier version is complete: restore the state folder from a complete backup\n")


def test_a_read_error_no_state_file_explains_is_raised_as_it_was(nights):
    from dedup.state.store import reading_state

    store = Store(nights / "state")
    with pytest.raises(pl.exceptions.ComputeError, match="not the state's"), \
            reading_state(store, lambda: (store.manifest(), store.manifest(1))):
        raise pl.exceptions.ComputeError("not the state's")
