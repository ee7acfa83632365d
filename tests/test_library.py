"""dedup used as a library: what run and cluster_frame take and refuse, and a result that outlives the
files its run wrote."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dedup import (
    ClusterConfig,
    Config,
    ConfigError,
    ReadConfig,
    ShingleConfig,
    cluster_frame,
    run,
)
from dedup.config import AlignConfig, OutputConfig
from tests.conftest import article, make_story, write_jsonl


def _night(first_seed: int) -> list[dict]:
    """Three stories, each carried by a wire and two outlets (trimmed copies, one with a line added)."""
    rows = []
    for s in range(3):
        base = make_story(first_seed + s, 10)
        rows.append(article(f"n{first_seed}-{s}", "Wire", base, f"2026-11-27T0{s}:00:00Z"))
        rows.append(article(f"n{first_seed}-{s}-a", "Valley Post", base[:8], f"2026-11-27T1{s}:00:00Z"))
        rows.append(article(f"n{first_seed}-{s}-b", "Coast Courier", base[1:] + make_story(900 + s, 1),
                            f"2026-11-27T2{s}:00:00Z"))
    return rows


def test_a_runs_sentences_are_its_own_after_a_later_run_into_the_same_folder(tmp_path):
    out = tmp_path / "out"
    first = run([write_jsonl(tmp_path / "one.jsonl", _night(100))], out)
    written = pl.read_parquet(out / "sentences.parquet", glob=False)
    assert written.height > 0
    second = run([write_jsonl(tmp_path / "two.jsonl", _night(200) + _night(300))], out)
    assert pl.read_parquet(out / "sentences.parquet", glob=False).height > written.height   # the file replaced
    assert_frame_equal(first.sentences.collect(), written)          # not a panic reading the new file
    assert_frame_equal(first.sentences.filter(pl.col("status") == "added").collect(),
                       written.filter(pl.col("status") == "added"))
    assert set(first.sentences.collect()["cluster_id"]) == set(first.clusters["cluster_id"]) - {None}
    assert second.sentences.collect().height > written.height


@pytest.mark.parametrize("make, message", [
    (lambda: ClusterConfig(threshold="0.6"), "threshold must be a number, got '0.6'"),
    (lambda: ClusterConfig(threshold=True), "threshold must be a number, got True"),
    (lambda: ShingleConfig(size=4.5), "size must be a whole number, got 4.5"),
    (lambda: AlignConfig(align_threshold="high"), "align_threshold must be a number, got 'high'"),
    (lambda: ReadConfig(strict="yes"), "strict must be true or false, got 'yes'"),
    (lambda: OutputConfig(formats="csv"), "formats must be a list, got 'csv'"),
    (lambda: Config(cluster={"threshold": 0.6}),
     r"cluster: expected a ClusterConfig, got dict; use Config\(\).replace\(cluster=\{...\}\)"),
    (lambda: Config(shingle=ClusterConfig()), "shingle: expected a ShingleConfig, got ClusterConfig"),
])
def test_settings_made_in_python_refuse_a_value_of_the_wrong_type(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


def test_settings_made_in_python_are_held_as_a_config_file_holds_them():
    assert ClusterConfig(threshold=1) == ClusterConfig(threshold=1.0)
    assert isinstance(ClusterConfig(threshold=1).threshold, float)
    assert Config(cluster=ClusterConfig(threshold=1)).fingerprint() == Config().replace(
        cluster={"threshold": 1}).fingerprint()
    mapped = ReadConfig(field_map=[["text", "body"]])
    assert mapped.field_map == (("text", "body"),) and hash(mapped) == hash(ReadConfig(field_map=(("text", "body"),)))


@pytest.fixture
def frame() -> pl.DataFrame:
    return pl.DataFrame(_night(100))


def test_cluster_frame_takes_a_lazy_frame(frame):
    assert_frame_equal(cluster_frame(frame.lazy()).clusters, cluster_frame(frame).clusters)


def test_cluster_frame_refuses_what_it_does_not_take(frame, tmp_path):
    with pytest.raises(ConfigError, match=r"config must be a Config, e.g. Config\(\).replace\(cluster=.*got dict"):
        cluster_frame(frame, config={"cluster": {"threshold": 0.6}})
    with pytest.raises(ConfigError, match="config must be a Config"):
        run([write_jsonl(tmp_path / "one.jsonl", _night(100))], tmp_path / "out", config={"cluster": {}})
    with pytest.raises(ConfigError, match="takes a polars DataFrame or LazyFrame of articles, got builtins.dict"):
        cluster_frame(frame.to_dict(as_series=False))
    pytest.importorskip("pandas")
    with pytest.raises(ConfigError, match=r"got pandas.core.frame.DataFrame \(pl.from_pandas\(frame\) makes one\)"):
        cluster_frame(frame.to_pandas())


def test_run_takes_progress_true_and_false(tmp_path, capsys):
    source: Path = write_jsonl(tmp_path / "one.jsonl", _night(100))
    run([source], tmp_path / "quiet", progress=False)
    assert capsys.readouterr().err == ""
    drawn = run([source], tmp_path / "bars", progress=True)
    assert "align" in capsys.readouterr().err   # the stage bars drawn
    assert_frame_equal(drawn.clusters, run([source], tmp_path / "plain").clusters)
    with pytest.raises(TypeError, match="progress must be True, False, None or a dedup.progress.Progress, got str"):
        run([source], tmp_path / "bad", progress="yes")


@pytest.mark.parametrize("inputs", ["", [""], ["  "], ["file://"]])
def test_an_empty_input_is_refused_not_read_as_the_working_folder(tmp_path, monkeypatch, inputs):
    # run("") with an unset variable would walk the working folder ($HOME, /) and cluster what it found
    write_jsonl(tmp_path / "cwd" / "stray.jsonl", _night(100))
    monkeypatch.chdir(tmp_path / "cwd")
    with pytest.raises(ConfigError, match="an input is blank"):
        run(inputs, tmp_path / "out")
    assert not (tmp_path / "out").exists()
