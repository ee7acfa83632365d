"""``dedup diff --config``: the configuration file of ``dedup cluster``, its [read] settings applied to reading A,
B and the corpus and its [align] settings to the diff, and a bad file refused as ``dedup cluster`` refuses it;
the summary line when the titles differ, and a run's output folder given as the corpus."""

import re

import pytest
from click.testing import CliRunner

from dedup.cli import main
from tests.conftest import write_jsonl

_A = "Council vote\nThe council approved the budget on Monday after a long debate. Spending on roads rises by a tenth."
_B = "Council vote\nThe council approved the budget on Tuesday after a long debate. Spending on roads rises by a tenth."
# the edited sentence, as each status prints it
_EDITED = "~ The council approved the budget on [-Monday-] {+Tuesday+} after a long debate."
_KEPT = "  The council approved the budget on Tuesday after a long debate."
_ADDED = "+ The council approved the budget on Tuesday after a long debate."
_DROPPED = "- The council approved the budget on Monday after a long debate."
# cosine of the two versions of the sentence is between 0.8 and 0.95 (the statuses below say so)
_KEPT_AT_80 = "[align]\nkept_threshold = 0.8\n"
_APART_AT_95 = "[align]\nalign_threshold = 0.95\nmoved_threshold = 0.95\njoin_threshold = 0.95\n"


def _run(*args):
    return CliRunner().invoke(main, list(map(str, args)))


def _lines(output: str) -> list[str]:
    return output.splitlines()


def _counts(output: str) -> dict[str, int]:
    return {name: int(n) for n, name in re.findall(r"(\d+) (kept|edited|added|dropped)", _lines(output)[-1])}


@pytest.fixture
def files(tmp_path):
    (tmp_path / "a.txt").write_text(_A)
    (tmp_path / "b.txt").write_text(_B)
    return tmp_path / "a.txt", tmp_path / "b.txt"


@pytest.mark.parametrize("toml, expected, counts", [
    (_KEPT_AT_80, [_KEPT], {"kept": 2, "edited": 0, "added": 0, "dropped": 0}),
    (_APART_AT_95, [_DROPPED, _ADDED], {"kept": 1, "edited": 0, "added": 1, "dropped": 1}),
])
def test_the_config_files_align_thresholds_change_a_sentences_status(tmp_path, files, toml, expected, counts):
    default = _run("diff", *files, "--no-color")
    assert default.exit_code == 0, default.output
    assert _EDITED in _lines(default.output) and _counts(default.output)["edited"] == 1
    # a desk's whole file: the tables that do not bear on a diff ([cluster], [output]) are accepted
    (tmp_path / "desk.toml").write_text(toml + '[cluster]\nthreshold = 0.7\n[output]\nformats = ["csv"]\n')
    res = _run("diff", *files, "--no-color", "--config", tmp_path / "desk.toml")
    assert res.exit_code == 0, res.output
    assert _EDITED not in _lines(res.output)
    assert all(line in _lines(res.output) for line in expected), res.output
    assert _counts(res.output) == counts


def test_the_config_files_field_map_reads_the_corpus_and_an_article_file_as_a_run_does(tmp_path):
    # the desk's feed names its columns ref, agency and copy (no alias of id, outlet, text): a run maps them
    # with [read] field_map, and so does diff
    records = [{"ref": "wire-1", "agency": "Wire", "copy": _A.split("\n", 1)[1]},
               {"ref": "paper-1", "agency": "Paper", "copy": _B.split("\n", 1)[1]},
               {"ref": "other-1", "agency": "Paper", "copy": "Ferry services resume after the storm. All sold out."}]
    write_jsonl(tmp_path / "feed" / "night.jsonl", records)
    mapping = '[read]\nfield_map = [["id", "ref"], ["outlet", "agency"], ["text", "copy"]]\n'
    (tmp_path / "map.toml").write_text(mapping)
    (tmp_path / "map-kept.toml").write_text(mapping + _KEPT_AT_80)

    unmapped = _run("diff", "wire-1", "paper-1", "--corpus", tmp_path / "feed")
    assert unmapped.exit_code == 3 and "not found" in unmapped.output, unmapped.output
    res = _run("diff", "wire-1", "paper-1", "--corpus", tmp_path / "feed", "--no-color",
               "--config", tmp_path / "map.toml")
    assert res.exit_code == 0, res.output
    assert _lines(res.output)[:2] == ["--- A: Wire · wire-1", "+++ B: Paper · paper-1"]
    assert _EDITED in _lines(res.output)
    # the [align] settings with a corpus too (the IDF fitted on the corpus)
    res = _run("diff", "wire-1", "paper-1", "--corpus", tmp_path / "feed", "--no-color",
               "--config", tmp_path / "map-kept.toml")
    assert res.exit_code == 0 and _KEPT in _lines(res.output), res.output

    # A and B as files of one record each
    write_jsonl(tmp_path / "a.jsonl", records[:1])
    write_jsonl(tmp_path / "b.jsonl", records[1:2])
    unmapped = _run("diff", tmp_path / "a.jsonl", tmp_path / "b.jsonl")
    assert unmapped.exit_code == 3 and "holds 0 usable articles" in unmapped.output, unmapped.output
    res = _run("diff", tmp_path / "a.jsonl", tmp_path / "b.jsonl", "--no-color", "--config", tmp_path / "map.toml")
    assert res.exit_code == 0 and _EDITED in _lines(res.output), res.output
    assert _lines(res.output)[0] == "--- A: Wire · wire-1"


def test_the_config_files_strict_stops_at_a_rejected_record_of_the_corpus_as_a_run_does(tmp_path):
    write_jsonl(tmp_path / "feed" / "night.jsonl", [
        {"id": "a", "text": _A}, {"id": "b", "text": _B}, {"id": "empty", "text": ""}])
    (tmp_path / "strict.toml").write_text("[read]\nstrict = true\n")
    assert _run("diff", "a", "b", "--corpus", tmp_path / "feed").exit_code == 0
    res = _run("diff", "a", "b", "--corpus", tmp_path / "feed", "--config", tmp_path / "strict.toml")
    assert res.exit_code == 4 and "empty_text" in res.output, res.output
    run = _run("cluster", tmp_path / "feed", "--out", tmp_path / "out", "-q", "--config", tmp_path / "strict.toml")
    assert run.exit_code == 4 and run.output == res.output


@pytest.mark.parametrize("name, content", [
    ("missing.toml", None),
    ("broken.toml", "[align\nkept_threshold = 0.8\n"),
    ("unknown.toml", "[align]\nkept_treshold = 0.8\n"),
    ("range.toml", "[align]\nalign_threshold = 0.95\n"),   # moved_threshold 0.8 is below it
    ("type.toml", '[read]\nfield_map = "text"\n'),
])
def test_a_bad_config_file_is_a_one_line_error_with_exit_2_as_for_cluster(tmp_path, files, name, content):
    config = tmp_path / name
    if content is not None:
        config.write_text(content)
    res = _run("diff", *files, "--config", config)
    assert res.exit_code == 2, res.output
    assert res.output.startswith("dedup: error: ") and res.output.strip().count("\n") == 0, res.output
    assert str(config) in res.output
    # the same loader, so the same message as dedup cluster's, and before any input is read
    run = _run("cluster", files[0], "--out", tmp_path / "out", "--config", config)
    assert run.exit_code == 2 and run.output == res.output
    assert _run("diff", "no-such-a", "no-such-b", "--config", config).output == res.output


def test_the_summary_line_says_when_the_titles_differ(tmp_path, files):
    # a .txt file's first line is its title: a rewritten lead line is only in the header, never diffed, so
    # the last line says so rather than "2 kept, 0 edited" alone
    res = _run("diff", *files, "--no-color")
    assert res.exit_code == 0 and "titles differ" not in res.output, res.output
    (tmp_path / "lead.txt").write_text(_B.replace("Council vote", "Council votes budget through"))
    res = _run("diff", files[0], tmp_path / "lead.txt", "--no-color")
    assert res.exit_code == 0, res.output
    assert _lines(res.output)[-1] == "B: 1 kept, 1 edited, 0 added, 0 dropped (A has 2 sentences; titles differ)"
    help_text = " ".join(_run("diff", "--help").output.split())
    assert "The first line of a .txt or .md file is its title" in help_text


def test_a_runs_output_folder_as_corpus_is_named_as_such(tmp_path):
    # the folder whose report an editor reads: its .parquet files are outputs, not articles
    write_jsonl(tmp_path / "feed" / "night.jsonl", [{"id": "a", "outlet": "Wire", "text": _A},
                                                    {"id": "b", "outlet": "Paper", "text": _B}])
    assert _run("cluster", tmp_path / "feed", "--out", tmp_path / "out", "-q").exit_code == 0
    res = _run("diff", "a", "b", "--corpus", tmp_path / "out")
    assert res.exit_code == 3 and res.output == (
        f"dedup: error: {tmp_path / 'out'} is the output folder of a dedup run (it holds no article texts): "
        "pass the run's input files or folders\n"), res.output
