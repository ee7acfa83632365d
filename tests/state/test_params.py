"""Which settings a state refuses: those its stored shingles, signatures, band keys and stories depend
on, compared as they take effect (the banding as bands x rows, however it was given), not as written."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from dedup import Config, run
from dedup.lsh import banding, optimal_bands
from dedup.state import StateError
from dedup.state.params import effective_parameters, fingerprint, state_parameters
from tests.state.corpus import NIGHTS, write_night

DERIVED = banding(Config().minhash)   # the banding the default lsh_threshold gives


def _first_night(root: Path) -> Path:
    """A state of night 1 built with the default settings."""
    run([write_night(root, 1)], root / "out1", state_dir=root / "state", night=NIGHTS[0])
    return root / "state"


def _night(root: Path, n: int, config: Config) -> None:
    run([write_night(root, n)], root / f"out{n}", state_dir=root / "state", night=NIGHTS[n - 1], config=config)


def _refusal(root: Path, config: Config) -> str:
    with pytest.raises(StateError) as err:
        _night(root, 2, config)
    assert err.value.exit_code == 5
    return str(err.value)


def test_the_banding_written_out_and_another_max_bucket_are_the_state_they_were_built_with(tmp_path):
    _first_night(tmp_path)
    bands, rows = DERIVED
    _night(tmp_path, 2, Config().replace(minhash={"bands": bands, "rows": rows}))
    _night(tmp_path, 3, Config().replace(minhash={"max_bucket": 3}))
    # and the other way: a state whose manifest now holds the written-out banding takes the default again
    _night(tmp_path, 3, Config().replace(minhash={"bands": bands, "rows": rows, "max_bucket": 7}))
    _night(tmp_path, 3, Config())


def test_a_threshold_deriving_the_same_banding_is_the_same_state_and_one_deriving_another_is_refused(tmp_path):
    default = Config().minhash.lsh_threshold
    same = next(t / 100 for t in range(1, 100) if t / 100 != default and optimal_bands(t / 100, 128) == DERIVED)
    other = next(t / 100 for t in range(1, 100) if optimal_bands(t / 100, 128) != DERIVED)
    _first_night(tmp_path)
    _night(tmp_path, 2, Config().replace(minhash={"lsh_threshold": same}))
    message = _refusal(tmp_path, Config().replace(minhash={"lsh_threshold": other}))
    b, r = optimal_bands(other, 128)
    assert f"minhash.lsh_threshold: state {same!r}, this run {other!r}" in message
    assert (f"minhash.bands: state {DERIVED[0]}, this run {b}" in message
            or f"minhash.rows: state {DERIVED[1]}, this run {r}" in message), message


def test_other_effective_bands_rows_num_perm_or_seed_are_still_refused(tmp_path):
    _first_night(tmp_path)
    bands, rows = DERIVED
    message = _refusal(tmp_path, Config().replace(minhash={"bands": bands - 1, "rows": rows}))
    assert f"minhash.bands: state {bands}, this run {bands - 1}" in message and "minhash.rows" not in message
    message = _refusal(tmp_path, Config().replace(minhash={"bands": bands // 2, "rows": rows + 1}))
    assert f"minhash.rows: state {rows}, this run {rows + 1}" in message
    message = _refusal(tmp_path, Config().replace(minhash={"seed": 2}))
    assert message.count("minhash.") == 1 and "minhash.seed: state 1, this run 2" in message
    message = _refusal(tmp_path, Config().replace(minhash={"num_perm": 64}))
    assert "minhash.num_perm: state 128, this run 64" in message
    message = _refusal(tmp_path, Config().replace(shingle={"size": 5}))
    assert "shingle.size: state 4, this run 5" in message and "minhash." not in message


def _as_an_older_dedup_wrote_it(state: Path) -> dict:
    """Rewrite the newest manifest's fingerprint as dedup wrote it before it covered the effective
    parameters: a hash of the shingle, minhash and cluster settings as written."""
    path = max((state / "_manifests").glob("*.json"))
    data = json.loads(path.read_text())
    data["fingerprint"] = hashlib.sha256(
        json.dumps(data["parameters"], sort_keys=True, default=list).encode()).hexdigest()[:16]
    path.write_text(json.dumps(data))
    return data


def test_a_state_fingerprinted_the_older_way_goes_on_with_its_settings_and_refuses_others(tmp_path):
    state = _first_night(tmp_path)
    old = _as_an_older_dedup_wrote_it(state)
    assert old["fingerprint"] != fingerprint(old["parameters"])   # the case: the fingerprints differ
    assert {"lsh_threshold", "max_bucket"} <= set(old["parameters"]["minhash"])
    assert "seed: state 1, this run 9" in _refusal(tmp_path, Config().replace(minhash={"seed": 9}))
    lines: list[str] = []
    run([write_night(tmp_path, 2)], tmp_path / "out2", state_dir=state, night=NIGHTS[1], log=lines.append,
        config=Config().replace(minhash={"bands": DERIVED[0], "rows": DERIVED[1], "max_bucket": 100}))
    assert not any("new since this state was built" in line for line in lines), lines
    _as_an_older_dedup_wrote_it(state)
    _night(tmp_path, 3, Config())


def test_the_effective_parameters_are_the_banding_however_given_without_the_query_time_settings():
    written = state_parameters(Config().replace(minhash={"bands": DERIVED[0], "rows": DERIVED[1],
                                                         "max_bucket": 9, "lsh_threshold": 0.5}))
    derived = effective_parameters(state_parameters(Config()))
    assert effective_parameters(written) == derived
    assert fingerprint(written) == fingerprint(state_parameters(Config()))
    assert derived["minhash"] == {"num_perm": 128, "seed": 1, "bands": DERIVED[0], "rows": DERIVED[1]}
    assert derived["shingle"] == state_parameters(Config())["shingle"]
    assert derived["cluster"] == state_parameters(Config())["cluster"]
    assert fingerprint(state_parameters(Config().replace(minhash={"seed": 2}))) != fingerprint(written)
    # a manifest's parameters without minhash settings (an unknown or future layout) are left as they are
    assert effective_parameters({"shingle": {"size": 4}}) == {"shingle": {"size": 4}}
