"""A run under --strict that stops at a rejected record leaves --out as it was: a standalone run stops while
reading, before it touches --out; a night stops later, at a record under an id the state holds for another
outlet (``duplicate_id``, after signing), and must not have removed the previous outputs by then."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from dedup.cli import main as cli
from tests.conftest import article, make_story, write_jsonl

S, T = make_story(71, 10), make_story(72, 10)


def _files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _cluster(*args) -> tuple[int, str]:
    res = CliRunner().invoke(cli, ["cluster", *map(str, args), "-q"])
    return res.exit_code, res.output


def test_a_strict_stop_at_an_id_the_state_holds_leaves_out_as_a_standalone_strict_stop_does(tmp_path):
    one = write_jsonl(tmp_path / "in1" / "a.jsonl", [article("123", "Daily A", S, "2026-10-02T06:00:00Z"),
                                                      article("w-1", "Wire", S[:9], "2026-10-02T07:00:00Z")]).parent
    two = write_jsonl(tmp_path / "in2" / "a.jsonl", [article("c-1", "Outlet C", S[1:10], "2026-10-03T05:00:00Z"),
                                                      article("123", "Daily B", T, "2026-10-03T06:00:00Z")]).parent
    bad = write_jsonl(tmp_path / "in3" / "a.jsonl", [article("x-1", "Outlet X", T, "2026-10-03T06:00:00Z"),
                                                      {"id": "x-2", "outlet": "Outlet X"}]).parent   # no text
    out, state = tmp_path / "out", tmp_path / "state"
    assert _cluster(one, "--state", state, "--out", out, "--night", "2026-10-02") == (0, "")
    before = _files(out)
    assert "timings.json" in before
    # standalone: an ordinary reject under --strict, exit 4, --out untouched
    code, output = _cluster(bad, "--out", out, "--strict")
    assert code == 4 and "[missing_text]" in output
    assert _files(out) == before
    # with the state: the night's record under Daily A's id, exit 4, --out untouched as well
    code, output = _cluster(two, "--state", state, "--out", out, "--night", "2026-10-03", "--strict")
    assert code == 4 and "[duplicate_id]" in output
    assert _files(out) == before
    # and a --out not made yet is not made, by either
    for args in ([bad], [two, "--state", state, "--night", "2026-10-03"]):
        assert _cluster(*args, "--out", tmp_path / "new", "--strict")[0] == 4
        assert not (tmp_path / "new").exists()
    # without --strict the night rejects the record and goes on: --out holds its outputs
    assert _cluster(two, "--state", state, "--out", out, "--night", "2026-10-03") == (0, "")
    assert _files(out)["rejected.jsonl"] != before["rejected.jsonl"]


def test_a_strict_night_finds_an_out_it_cannot_write_before_clustering(tmp_path, monkeypatch):
    """A strict night empties --out only once its outputs are made, but an --out that cannot be made (under a
    file) is its OutputError right after reading, not after the night's clustering."""
    import dedup
    from dedup import pipeline
    from dedup.config import Config
    from dedup.errors import OutputError

    def finish(*args, **kwargs):
        raise AssertionError("clustered before --out was checked")

    monkeypatch.setattr(pipeline, "_finish", finish)
    folder = write_jsonl(tmp_path / "in" / "a.jsonl", [article("a-1", "Daily A", S, "2026-10-02T06:00:00Z"),
                                                       article("b-1", "Daily B", T, "2026-10-02T07:00:00Z")]).parent
    (tmp_path / "blocker").write_text("a file")
    strict = Config().replace(read={"strict": True})
    for out in (tmp_path / "blocker" / "out", tmp_path / "blocker" / "deeper" / "out"):
        with pytest.raises(OutputError, match=r"Not a directory \(.*blocker\)"):
            dedup.run(folder, out, config=strict, state_dir=tmp_path / "state", night="2026-10-02")
    assert (tmp_path / "blocker").read_text() == "a file"
    # a writable --out not made yet is still not made before the night's work: here it stops in _finish
    with pytest.raises(AssertionError, match="clustered before"):
        dedup.run(folder, tmp_path / "new" / "out", config=strict, state_dir=tmp_path / "state", night="2026-10-02")
    assert not (tmp_path / "new").exists()
