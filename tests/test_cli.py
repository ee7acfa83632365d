import errno
import json
import os
import re
import subprocess
import sys

import polars as pl
import pytest
from click.testing import CliRunner

from dedup.cli import main
from tests.conftest import write_jsonl


def _run(*args):
    return CliRunner().invoke(main, list(map(str, args)))


def test_help_shows_examples():
    assert "Example:" in _run("--help").output
    assert "Example:" in _run("cluster", "--help").output


def test_cluster_help_names_every_input_format():
    from dedup.io.inputs import SUFFIXES
    from dedup.io.streams import COMPRESSION_SUFFIXES

    text = " ".join(_run("cluster", "--help").output.split())
    for suffix in [*SUFFIXES, *COMPRESSION_SUFFIXES]:
        assert suffix in text, suffix


def test_cluster_writes_outputs_and_accounts_for_every_record(tmp_path, planted):
    records, truth = planted
    write_jsonl(tmp_path / "in" / "a.jsonl", records + ["{broken"])
    res = _run("cluster", tmp_path / "in", "--out", tmp_path / "out", "--format", "csv", "--format", "json")
    assert res.exit_code == 0, res.output
    out = tmp_path / "out"
    summary = json.loads((out / "summary.json").read_text())
    a = summary["articles"]
    assert a["read"] == a["clustered"] + a["rejected"] == len(records) + 1
    assert a["rejected_by_reason"] == {"malformed_json": 1}
    clusters = pl.read_parquet(out / "clusters.parquet")
    assert clusters.height == len(records)
    assert pl.read_csv(out / "clusters.csv").height == len(records)
    assert len(json.loads((out / "clusters.json").read_text())) == len(records)
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines()]
    assert rejected[0]["record"] == len(records) + 1 and rejected[0]["reason"] == "malformed_json"


def test_outputs_are_byte_identical_across_runs(tmp_path, planted):
    records, _ = planted
    write_jsonl(tmp_path / "in" / "a.jsonl", records)
    for name in ("o1", "o2"):
        assert _run("cluster", tmp_path / "in", "--out", tmp_path / name, "--format", "csv", "-q").exit_code == 0
    files = sorted(p.name for p in (tmp_path / "o1").iterdir() if p.name != "timings.json")
    assert "clusters.parquet" in files and "summary.json" in files
    for name in files:
        assert (tmp_path / "o1" / name).read_bytes() == (tmp_path / "o2" / name).read_bytes(), name


def test_errors_exit_non_zero_with_one_line(tmp_path):
    res = _run("cluster", tmp_path / "missing")
    assert res.exit_code == 3 and res.output.strip().count("\n") == 0 and "does not exist" in res.output
    res = _run("cluster", tmp_path, "--threshold", "1.5")
    assert res.exit_code == 2 and "--threshold" in res.output
    (tmp_path / "bad.toml").write_text("[cluster]\nthreshhold = 0.5\n")
    res = _run("cluster", tmp_path, "--config", tmp_path / "bad.toml")
    assert res.exit_code == 2 and "threshhold" in res.output and "valid:" in res.output
    write_jsonl(tmp_path / "c" / "a.jsonl", ["{broken"])
    res = _run("cluster", tmp_path / "c", "--strict", "--out", tmp_path / "o")
    assert res.exit_code == 4 and "a.jsonl:1" in res.output
    # click's own usage errors are one line too, not its usage block
    for args, message in [(("cluster", tmp_path, "--format", "xml"), "Invalid value for '--format'"),
                          (("cluster", tmp_path, "--bogus"), "No such option"),   # click 8.2-8.3 word it ": --bogus"
                          (("cluster",), "Missing argument 'INPUTS...'"), (("nosuch",), "No such command")]:
        res = _run(*args)
        assert res.exit_code == 2 and res.output.startswith("dedup: error: ") and message in res.output, res.output
        assert res.output.strip().count("\n") == 0, res.output
    assert _run("--version").exit_code == 0 and _run("cluster", "--help").exit_code == 0
    # `dedup` alone shows the help (not "dedup: error: Usage: ..."); --out naming a file is a bad parameter,
    # refused before anything is read
    res = _run()
    assert res.exit_code == 2 and res.output.startswith("Usage: ") and "dedup: error" not in res.output
    (tmp_path / "afile").write_text("hi")
    res = _run("cluster", tmp_path / "c", "--out", tmp_path / "afile")
    assert res.exit_code == 2 and "is a file, not a folder" in res.output and res.output.strip().count("\n") == 0


def test_a_threshold_below_the_second_opinions_bar_is_a_valid_run(tmp_path, planted):
    # --threshold 0.1 (README: 0 < X <= 1) is below rescue_min_containment and resend_min_containment: those
    # then change nothing, and the run goes on
    write_jsonl(tmp_path / "in" / "a.jsonl", planted[0])
    res = _run("cluster", tmp_path / "in", "--out", tmp_path / "o", "--threshold", "0.1", "--quiet")
    assert res.exit_code == 0, res.output


def test_an_empty_out_or_an_out_that_is_the_input_folder_is_refused(tmp_path, planted):
    # `--out "$OUT"` with OUT unset, or `dedup cluster . --out .`: the next run would read the outputs
    records, _ = planted
    folder = tmp_path / "in"
    write_jsonl(folder / "a.jsonl", records)
    for out in ("", folder, f"{folder}/."):
        res = _run("cluster", folder, "--out", out, "--quiet")
        assert res.exit_code == 2 and res.output.startswith("dedup: error: --out"), res.output
    assert sorted(p.name for p in folder.iterdir()) == ["a.jsonl"]   # nothing was written there
    assert _run("cluster", folder, "--out", folder / "out", "--quiet").exit_code == 0   # inside it is fine


def test_console_script_entry_point(tmp_path, planted):
    records, _ = planted
    write_jsonl(tmp_path / "a.jsonl", records)
    proc = subprocess.run([sys.executable, "-m", "dedup", "cluster", str(tmp_path / "a.jsonl"),
                           "--out", str(tmp_path / "out"), "--quiet"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and (tmp_path / "out" / "clusters.parquet").exists()


def test_diff_two_files_and_ids_from_a_corpus(tmp_path):
    (tmp_path / "a.txt").write_text("Headline A\nThe council approved the budget on Monday. "
                                    "Spending on roads rises by a tenth. The vote was close.\n")
    (tmp_path / "b.txt").write_text("Headline B\nThe council approved the budget on Monday. "
                                    "Spending on roads rises by a tenth. Local shops welcomed it.\n")
    res = _run("diff", tmp_path / "a.txt", tmp_path / "b.txt", "--no-color")
    assert res.exit_code == 0, res.output
    assert "+ Local shops welcomed it." in res.output and "- The vote was close." in res.output
    assert "\x1b[" not in res.output
    from tests.conftest import SAMPLE
    res = _run("diff", "mp-2026-1127-001", "hg-port-strike", "--corpus", SAMPLE, "--color")
    assert res.exit_code == 0, res.output
    assert "\x1b[" in res.output and "Harbour Gazette" in res.output
    res = _run("diff", "nope", "hg-port-strike", "--corpus", SAMPLE)
    assert res.exit_code == 3 and "nope" in res.output
    # an id the corpus holds, in a record that was rejected: why, not "not found" alone
    res = _run("diff", "md-weather-brief", "hg-port-strike", "--corpus", SAMPLE)
    assert res.exit_code == 3 and "md-weather-brief (rejected: empty_text, " in res.output, res.output
    assert "bad-records.jsonl record 3)" in res.output
    res = _run("diff", "nope", "other")
    assert res.exit_code == 3 and "--corpus" in res.output


def test_report_command_rebuilds_the_same_report(tmp_path, planted):
    records, _ = planted
    write_jsonl(tmp_path / "in" / "a.jsonl", records)
    assert _run("cluster", tmp_path / "in", "--out", tmp_path / "out", "-q").exit_code == 0
    first = (tmp_path / "out" / "report.html").read_bytes()
    (tmp_path / "out" / "report.html").unlink()
    res = _run("report", tmp_path / "out")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "report.html").read_bytes() == first
    assert _run("report", tmp_path / "nothing-here").exit_code == 3


def test_state_flags_keep_story_ids_across_nights(tmp_path, planted):
    records, _ = planted
    monday = [r for r in records if not r["id"].endswith("o3")]
    tuesday = [dict(r, published=r["published"].replace("2026-11-27", "2026-11-28")) for r in records
               if r["id"].endswith("o3")]
    write_jsonl(tmp_path / "mon" / "a.jsonl", monday)
    write_jsonl(tmp_path / "tue" / "a.jsonl", tuesday)
    state = tmp_path / "state"
    for night in ("mon", "tue"):
        res = _run("cluster", tmp_path / night, "--state", state, "--out", tmp_path / f"out-{night}", "-q")
        assert res.exit_code == 0, res.output
    mon = pl.read_parquet(tmp_path / "out-mon" / "clusters.parquet")
    tue = pl.read_parquet(tmp_path / "out-tue" / "clusters.parquet")
    ids = dict(zip(mon["article_id"], mon["cluster_id"]))
    for row in tue.filter(pl.col("article_id").str.ends_with("o3")).iter_rows(named=True):
        assert row["cluster_id"] == ids[row["article_id"].replace("-o3", "")]
    res = _run("cluster", tmp_path / "tue", "--window", "3d", "--out", tmp_path / "o")
    assert res.exit_code == 2 and "--state" in res.output


def test_engine_flags_are_checked_before_anything_runs(tmp_path):
    res = _run("cluster", tmp_path, "--master", "local[2]")
    assert res.exit_code == 2 and "--engine spark" in res.output
    res = _run("cluster", tmp_path, "--engine", "spark", "--state", tmp_path / "s", "--out", tmp_path / "o")
    assert res.exit_code == 2 and res.output == ("dedup: error: --state is not supported with --engine spark "
                                                 "yet; run nightly on the local engine\n")
    assert not (tmp_path / "s").exists() and not (tmp_path / "o").exists()


URIS = ("hdfs://nn:8020/news/2026-11-27/", "s3a://bucket/news/x.jsonl.gz", "file:///tmp/news", "gs://b/x")


def test_spark_engine_gets_uris_exactly_as_typed(tmp_path, monkeypatch):
    import dedup.spark
    from dedup.errors import InputError

    seen = {}

    def fake_run_spark(inputs, out_dir, **kwargs):
        seen["inputs"] = inputs
        raise InputError("stopped by the test")

    monkeypatch.setattr(dedup.spark, "run_spark", fake_run_spark)
    res = _run("cluster", *URIS, "corpus/", "--engine", "spark", "--out", tmp_path / "o")
    assert res.exit_code == 3 and "stopped by the test" in res.output
    assert seen["inputs"] == [*URIS, "corpus/"]


def test_local_engine_refuses_uris_in_one_line_but_reads_file_uris(tmp_path, planted):
    for uri in URIS[:2]:
        res = _run("cluster", tmp_path, uri, "--out", tmp_path / "o")
        assert res.exit_code == 3, res.output
        assert res.output == (f"dedup: error: input {uri} is a {uri.split(':')[0]}:// URI; the local engine reads "
                              "local files and folders only: run with --engine spark, or copy the files to a "
                              "local folder\n")
    assert not (tmp_path / "o").exists()
    records, _ = planted
    write_jsonl(tmp_path / "in dir" / "a.jsonl", records)
    res = _run("cluster", (tmp_path / "in dir").as_uri(), "--out", tmp_path / "uri", "-q")
    assert res.exit_code == 0, res.output
    assert _run("cluster", tmp_path / "in dir", "--out", tmp_path / "path", "-q").exit_code == 0
    for name in ("clusters.parquet", "summary.json"):
        assert (tmp_path / "uri" / name).read_bytes() == (tmp_path / "path" / name).read_bytes()


def test_report_articles_flag_caps_the_details_in_the_report(tmp_path, planted):
    records, _ = planted
    write_jsonl(tmp_path / "in" / "a.jsonl", records)
    res = _run("cluster", tmp_path / "in", "--out", tmp_path / "out", "--report-articles", "1", "-q")
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["parameters"]["output"]["report_articles"] == 1
    page = (tmp_path / "out" / "report.html").read_text()
    assert summary["clusters"]["stories"] > 0 and "carries its details" in page and "None of the night" in page
    res = _run("report", tmp_path / "out", "--articles", "0")
    assert res.exit_code == 0 and "its details" not in (tmp_path / "out" / "report.html").read_text()
    assert _run("cluster", tmp_path / "in", "--report-articles", "-1").exit_code == 2
    (tmp_path / "bad.toml").write_text("[output]\nreport_articles = -3\n")
    res = _run("cluster", tmp_path / "in", "--config", tmp_path / "bad.toml", "--out", tmp_path / "o2")
    assert res.exit_code == 2 and "report_articles" in res.output


def test_a_rerun_without_a_format_removes_its_copies_and_an_unwritable_output_is_one_line(tmp_path, planted):
    write_jsonl(tmp_path / "in" / "a.jsonl", planted[0])
    assert _run("cluster", tmp_path / "in", "--out", tmp_path / "o", "--format", "csv", "-q").exit_code == 0
    assert (tmp_path / "o" / "clusters.csv").is_file()
    assert _run("cluster", tmp_path / "in", "--out", tmp_path / "o", "-q").exit_code == 0
    assert not (tmp_path / "o" / "clusters.csv").exists()   # not an earlier run's table beside this one's
    (tmp_path / "p" / "rejected.jsonl").mkdir(parents=True)   # an output's name taken by a folder
    res = _run("cluster", tmp_path / "in", "--out", tmp_path / "p", "-q")
    assert res.exit_code == 8 and "cannot write the outputs" in res.output and res.output.strip().count("\n") == 0


def test_an_empty_window_a_field_given_twice_and_a_state_that_is_a_file_are_bad_parameters(tmp_path, planted):
    write_jsonl(tmp_path / "in" / "a.jsonl", planted[0])
    (tmp_path / "afile").write_text("hi")
    for args, message in [(("--state", tmp_path / "s", "--window", ""), "--window ''"),
                          (("--field", "text=a", "--field", "text=b"), "--field text is given twice"),
                          (("--state", tmp_path / "afile"), "is a file, not a folder")]:
        res = _run("cluster", tmp_path / "in", "--out", tmp_path / "o", "-q", *args)
        assert res.exit_code == 2 and message in res.output and res.output.strip().count("\n") == 0, res.output


def _full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_is_a_one_line_exit_8_not_unusable_input(tmp_path, planted, monkeypatch):
    import dedup.pipeline

    write_jsonl(tmp_path / "in" / "a.jsonl", planted[0])
    monkeypatch.setattr(dedup.pipeline, "write_report", _full_disk)
    res = _run("cluster", tmp_path / "in", "--out", tmp_path / "o", "-q")
    assert res.exit_code == 8, res.output
    assert res.output == f"dedup: error: cannot write the outputs in {tmp_path / 'o'}: No space left on device\n"


def test_a_rerun_whose_write_fails_leaves_none_of_the_earlier_runs_outputs(tmp_path, planted, monkeypatch):
    """No folder mixing two runs that looks finished: the earlier run's tables, report and timings.json
    are gone (a file of the desk's own stays), and summary.json, if written, is the failed run's."""
    import dedup.pipeline

    records = planted[0]
    write_jsonl(tmp_path / "one" / "a.jsonl", records)
    write_jsonl(tmp_path / "two" / "a.jsonl", records[:-2])
    out = tmp_path / "o"
    assert _run("cluster", tmp_path / "one", "--out", out, "--format", "csv", "--format", "json", "-q").exit_code == 0
    (out / "notes.txt").write_text("the desk's own file")
    monkeypatch.setattr(dedup.pipeline, "write_report", _full_disk)
    assert _run("cluster", tmp_path / "two", "--out", out, "-q").exit_code != 0
    left = {p.name for p in out.iterdir()}
    assert not left & {"timings.json", "report.html", "clusters.csv", "clusters.json", "sentences.csv"}, left
    assert "notes.txt" in left
    assert json.loads((out / "summary.json").read_text())["articles"]["read"] == len(records) - 2


def test_quiet_on_a_terminal_writes_nothing_to_stdout(tmp_path, planted):
    """numba's error highlighting (colorama) would reset the terminal's colours at exit: ESC[0m on stdout."""
    import os
    import pty

    write_jsonl(tmp_path / "a.jsonl", planted[0])
    main_fd, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING"}
    proc = subprocess.run([sys.executable, "-m", "dedup", "cluster", str(tmp_path / "a.jsonl"),
                           "--out", str(tmp_path / "out"), "-q"], stdout=terminal, stderr=subprocess.PIPE,
                          env=env, timeout=300, check=False)
    os.close(terminal)
    written = b""
    while True:
        try:
            chunk = os.read(main_fd, 1024)
        except OSError:   # EIO: the terminal is closed and drained
            break
        if not chunk:
            break
        written += chunk
    os.close(main_fd)
    assert proc.returncode == 0, proc.stderr
    assert written == b"" and proc.stderr == b""


def test_out_and_state_are_local_folders_whatever_their_names(tmp_path, planted, monkeypatch):
    """``--out night:2026-11-27`` is a folder of the working directory (pyarrow reads a path as a URI first);
    ``--out`` and ``--state`` given as file:// URIs are their local folders, as the inputs are; another URI is
    a bad parameter, refused before anything is written."""
    write_jsonl(tmp_path / "in" / "a.jsonl", planted[0])
    monkeypatch.chdir(tmp_path)
    res = _run("cluster", "in", "--out", "night:2026-11-27", "--format", "csv", "-q")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "night:2026-11-27" / "sentences.parquet").is_file()
    assert (tmp_path / "night:2026-11-27" / "sentences.csv").is_file()
    res = _run("cluster", "in", "--out", f"file://{tmp_path}/o", "--state", f"file://{tmp_path}/s", "-q")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "o" / "clusters.parquet").is_file() and (tmp_path / "s" / "_manifests").is_dir()
    for args in (("--out", "hdfs://nn/o"), ("--out", "o2", "--state", "s3a://bucket/s")):
        res = _run("cluster", "in", "-q", *args)
        assert res.exit_code == 2 and "the local engine writes local folders only" in res.output, res.output
        assert res.output.strip().count("\n") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "night:2026-11-27", "o", "s"]


def test_an_empty_state_is_refused_not_taken_for_the_working_folder(tmp_path, planted, monkeypatch):
    # `--state "$STATE"` with STATE unset, as `--out ""`
    write_jsonl(tmp_path / "in" / "a.jsonl", planted[0])
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    res = _run("cluster", tmp_path / "in", "--out", tmp_path / "o", "--state", "", "-q")
    assert res.exit_code == 2, res.output
    assert res.output == "dedup: error: --state is empty; give the state folder, e.g. --state state\n"
    for given in ("file://", " "):   # an unset variable after the scheme, or blanks: not the working folder
        res = _run("cluster", tmp_path, "--state", given)
        assert res.exit_code == 2 and "--state is empty" in res.output, res.output
        res = _run("cluster", tmp_path, "--out", given)
        assert res.exit_code == 2 and "--out is empty" in res.output, res.output
    assert not any((tmp_path / "cwd").iterdir()) and not (tmp_path / "o").exists()


def test_a_state_that_is_an_input_folder_or_the_out_folder_is_refused(tmp_path, planted):
    folder = tmp_path / "in"
    write_jsonl(folder / "a.jsonl", planted[0])
    for args, message in [(("--state", folder, "--out", tmp_path / "o"), "is the input folder"),
                          (("--state", f"{folder}/.", "--out", tmp_path / "o"), "is the input folder"),
                          (("--state", tmp_path / "x", "--out", tmp_path / "x"), "is the --state folder")]:
        res = _run("cluster", folder, "-q", *args)
        assert res.exit_code == 2 and message in res.output and res.output.strip().count("\n") == 0, res.output
    assert sorted(p.name for p in folder.iterdir()) == ["a.jsonl"] and not (tmp_path / "x").exists()
    for night in (1, 2):   # a state inside the input folder is fine: the reader does not enter it (the rerun)
        res = _run("cluster", folder, "--state", folder / "state", "--out", tmp_path / f"o{night}", "-q",
                   "--night", "2026-11-27")
        assert res.exit_code == 0, res.output


def test_the_states_notices_are_printed_without_a_terminal_and_the_timings_are_not(tmp_path, planted):
    """stderr is not a terminal (cron, `2>>log`): the state's notices are said nowhere else, unlike the
    stage timings (timings.json); --quiet silences them."""
    import socket

    write_jsonl(tmp_path / "in" / "a.jsonl", planted[0])
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    gone = ended.pid   # a process that no longer runs
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "lock").write_text(json.dumps({"pid": gone, "hostname": socket.gethostname()}))
    res = CliRunner().invoke(main, ["cluster", str(tmp_path / "in"), "--out", str(tmp_path / "o"),
                                    "--state", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    assert f"took over a stale lock of pid {gone}\n" in res.stderr
    assert "(inferred from the newest article: article " in res.stderr
    assert not re.search(r"^\w+ +\d+\.\d\ds$", res.stderr, flags=re.MULTILINE), res.stderr   # "read    0.02s"
    res = CliRunner().invoke(main, ["cluster", str(tmp_path / "in"), "--out", str(tmp_path / "o"),
                                    "--state", str(tmp_path / "s"), "-q", "--night", "2026-11-27"])
    assert res.exit_code == 0 and res.stderr == "", res.stderr   # not even "this run replaces it"


def test_ctrl_c_is_one_line_and_exit_130(tmp_path, monkeypatch):
    """Not click's "Aborted!" and 1, an internal error's code: a scheduler tells an interrupted run apart."""
    import dedup.pipeline

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(dedup.pipeline, "run", interrupted)
    res = CliRunner().invoke(main, ["cluster", str(tmp_path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 130 and res.stderr.strip() == "dedup: interrupted", res.stderr


def test_an_eof_error_of_the_run_is_an_internal_error_not_an_interruption(tmp_path, monkeypatch):
    """click turns an EOFError into the Abort of Ctrl-C: the run's own EOFError is a bug (exit 1), not 130."""
    import dedup.pipeline

    def broken(*args, **kwargs):
        raise EOFError("compressed file ended before the end-of-stream marker was reached")

    monkeypatch.setattr(dedup.pipeline, "run", broken)
    res = CliRunner().invoke(main, ["cluster", str(tmp_path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and isinstance(res.exception, EOFError) and "interrupted" not in res.stderr


def test_an_empty_input_corpus_config_or_report_folder_is_refused_not_the_working_folder(tmp_path, monkeypatch):
    # `dedup cluster "$TONIGHT"`, `--corpus "$CORPUS"`... with the variable unset: click's Path("") was the
    # working folder, walked recursively (from $HOME or /, a whole tree); refused as `--out ""` is
    write_jsonl(tmp_path / "cwd" / "stray.jsonl", [
        {"id": "X", "text": "The mayor opened the new bridge on Tuesday. Traffic was light."},
        {"id": "Y", "text": "The mayor opened the old bridge on Tuesday. Traffic was light."}])
    monkeypatch.chdir(tmp_path / "cwd")
    for blank in ("", " ", "file://"):
        for args, message in [(("cluster", blank, "--out", tmp_path / "o"), "an input is blank"),
                              (("cluster", tmp_path / "cwd", blank, "--out", tmp_path / "o"), "an input is blank"),
                              (("diff", "X", "Y", "--corpus", blank), "an input is blank"),
                              (("diff", "X", "Y", "--corpus", "stray.jsonl", "--config", blank), "the config file"),
                              (("report", blank), "the output folder's name is blank")]:
            if "--config" in args and blank == "file://":   # a file name, not a URI: the file "file:" is missing
                continue
            res = _run(*args)
            assert res.exit_code == 2 and res.output.startswith(f"dedup: error: {message}"), (args, res.output)
            assert res.output.strip().count("\n") == 0 and f"({blank!r}: an unset variable?)" in res.output
    assert not (tmp_path / "o").exists() and sorted(p.name for p in (tmp_path / "cwd").iterdir()) == ["stray.jsonl"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_full_standard_output_is_one_line_and_exit_8(tmp_path, planted):
    # `dedup diff A B > diff.txt` on a full disk: the outputs cannot be written (README: one line, exit 8),
    # not a traceback and exit 1
    (tmp_path / "a.txt").write_text("Budget\nThe council approved the budget on Monday. The vote was close.\n")
    (tmp_path / "b.txt").write_text("Budget\nThe council approved the budget on Tuesday. The vote was close.\n")
    write_jsonl(tmp_path / "in" / "a.jsonl", planted[0])
    assert _run("cluster", tmp_path / "in", "--out", tmp_path / "out", "-q").exit_code == 0
    for args in (("diff", tmp_path / "a.txt", tmp_path / "b.txt"), ("report", tmp_path / "out"),
                 ("cluster", tmp_path / "in", "--out", tmp_path / "out"),
                 ("--help",), ("--version",), ("cluster", "--help"), ("diff", "-h"), ("report", "--help")):
        with open("/dev/full", "w") as full:
            proc = subprocess.run([sys.executable, "-m", "dedup", *map(str, args)], stdout=full,
                                  stderr=subprocess.PIPE, text=True, check=False)
        assert proc.returncode == 8, (args, proc.stderr)
        assert proc.stderr == "dedup: error: cannot write standard output: No space left on device\n", proc.stderr


def test_a_closed_standard_output_is_one_line_and_exit_8(tmp_path):
    # `dedup diff A B >&-`: sys.stdout is None; its isatty() was an AttributeError traceback
    (tmp_path / "a.txt").write_text("Budget\nThe council approved the budget on Monday. The vote was close.\n")
    (tmp_path / "b.txt").write_text("Budget\nThe council approved the budget on Tuesday. The vote was close.\n")
    proc = subprocess.run(["sh", "-c", f'exec "{sys.executable}" -m dedup diff "$0" "$1" >&-', tmp_path / "a.txt",
                           tmp_path / "b.txt"], stderr=subprocess.PIPE, text=True, check=False)
    assert (proc.returncode, proc.stderr) == (8, "dedup: error: cannot write standard output: it is closed\n")


def test_a_standard_output_without_the_characters_writes_them_escaped(tmp_path):
    # a cp1252 console (Windows, stdout redirected): Arabic in the diff was a UnicodeEncodeError traceback
    (tmp_path / "a.txt").write_text("عنوان\nوافق المجلس على الميزانية يوم الاثنين. كان التصويت متقاربا.\n")
    (tmp_path / "b.txt").write_text("عنوان\nوافق المجلس على الميزانية يوم الثلاثاء. كان التصويت متقاربا.\n")
    proc = subprocess.run([sys.executable, "-m", "dedup", "diff", str(tmp_path / "a.txt"), str(tmp_path / "b.txt")],
                          capture_output=True, env={**os.environ, "PYTHONIOENCODING": "cp1252"}, check=False)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    assert b"\\u0648\\u0627\\u0641\\u0642" in proc.stdout   # "وافق", escaped


def test_an_output_folder_given_as_input_is_named_as_such(tmp_path, planted):
    # its .parquet files are a run's outputs, not articles: not "no readable input files (supported: .parquet...)"
    write_jsonl(tmp_path / "in" / "a.jsonl", planted[0])
    assert _run("cluster", tmp_path / "in", "--out", tmp_path / "out", "-q").exit_code == 0
    res = _run("cluster", tmp_path / "out", "--out", tmp_path / "o2", "-q")
    assert res.exit_code == 3 and res.output == (
        f"dedup: error: {tmp_path / 'out'} is the output folder of a dedup run (it holds no article texts): "
        "pass the run's input files or folders\n"), res.output
