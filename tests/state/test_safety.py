"""Safety of the nightly state: kill -9 anywhere, concurrent runs, stale locks, mismatched parameters."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dedup import Config, run
from dedup.errors import ConfigError
from dedup.state import StateError, StateLock, StateLocked, Store, read_table
from tests.state.corpus import (
    NIGHTLY,
    NIGHTS,
    load_nightly,
    night_records,
    output_files,
    write_night,
)

KILL_POINTS = ("read", "clustered", "outputs_written", "articles_written", "files_written",
               "manifest_written", "committed", "vacuumed")
BEFORE_COMMIT = KILL_POINTS[:KILL_POINTS.index("committed")]


def _nightly(root: Path, state: Path, out: Path, n: int, **env) -> subprocess.CompletedProcess:
    """Night ``n`` (its input written under ``root``) with ``pipelines/nightly.py``."""
    folder = write_night(root, n)
    return subprocess.run([sys.executable, str(NIGHTLY), str(folder), "--state", str(state), "--out", str(out),
                           "--night", NIGHTS[n - 1], "--quiet"],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=300)


def _tables(state: Path) -> dict[str, list[tuple]]:
    """Every table's rows, sorted, comparable with ==."""
    return {t: sorted(read_table(state, t).collect().rows(), key=repr)
            for t in ("articles", "assignments", "story_merges", "sentences")}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Night 1 committed (the starting point), and night 2 run without interruption."""
    root = tmp_path_factory.mktemp("reference")
    assert _nightly(root, root / "state1", root / "out", 1).returncode == 0
    shutil.copytree(root / "state1", root / "state2")
    done = _nightly(root, root / "state2", root / "out", 2)
    assert done.returncode == 0, done.stderr
    return root


@pytest.mark.parametrize("point", KILL_POINTS)
def test_kill_9_anywhere_leaves_the_state_as_before_and_a_rerun_completes_identically(reference, tmp_path, point):
    state, out = tmp_path / "state", tmp_path / "out"
    shutil.copytree(reference / "state1", state)
    versions_before = Store(state).versions()
    # tonight's file where the reference read it (clusters.parquet names it)
    killed = _nightly(reference, state, out, 2, DEDUP_STATE_KILL_AT=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (state / "lock").exists()                       # the killed run could not release it
    if point in BEFORE_COMMIT:
        assert Store(state).versions() == versions_before
        assert _tables(state) == _tables(reference / "state1")
    assert not (out / NIGHTS[1]).exists()                  # the output folder is only published when complete
    rerun = _nightly(reference, state, out, 2)
    assert rerun.returncode == 0, rerun.stderr
    assert output_files(out / NIGHTS[1]) == output_files(reference / "out" / NIGHTS[1])
    assert _tables(state) == _tables(reference / "state2")
    assert not (state / "lock").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]     # no temporary folder left
    log = (out / "logs" / f"{NIGHTS[1]}.log").read_text()
    assert "took over a stale lock" in log and log.rstrip().endswith("exit 0")
    if point in ("clustered", "outputs_written"):
        # tonight's articles file is written while the articles are clustered, before the manifest
        # names it: the killed run left it behind, and the rerun deleted it before reading the state
        assert "file(s) of an interrupted run" in log


def test_the_outputs_of_a_night_committed_by_a_killed_run_are_published_by_the_next_run(reference, tmp_path):
    """Killed after the state's commit: the outputs are complete and the night cannot be redone once
    a later night is committed, so the next night's run publishes them (without timings.json)."""
    state, out = tmp_path / "state", tmp_path / "out"
    killed = _nightly(reference, state, out, 1, DEDUP_STATE_KILL_AT="committed")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (out / NIGHTS[0]).exists()
    # as if killed while writing timings.json (after the commit): its temporary name is left
    [tmp] = out.glob(f".{NIGHTS[0]}.tmp-*")
    (tmp / "timings.json.partial").write_text('{"stages"')
    done = _nightly(reference, state, out, 2)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (out / NIGHTS[0]).iterdir()) == sorted(output_files(reference / "out" / NIGHTS[0]))
    assert output_files(out / NIGHTS[0]) == output_files(reference / "out" / NIGHTS[0])
    assert output_files(out / NIGHTS[1]) == output_files(reference / "out" / NIGHTS[1])
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    assert f"recovered the outputs of night {NIGHTS[0]}" in (out / "logs" / f"{NIGHTS[1]}.log").read_text()


def test_the_folder_of_a_run_killed_before_its_commit_is_deleted_not_published(reference, tmp_path):
    state, out = tmp_path / "state", tmp_path / "out"
    shutil.copytree(reference / "state1", state)
    killed = _nightly(reference, state, out, 2, DEDUP_STATE_KILL_AT="outputs_written")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert [p for p in out.iterdir() if p.name.startswith(".")]      # its complete outputs, but not committed
    assert _nightly(reference, state, out, 3).returncode == 0
    assert not (out / NIGHTS[1]).exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


# nightly.py, killed between _publish's two renames: OUT/NIGHT moved aside, the new folder not yet in place
_KILLED_IN_PUBLISH = """
import os, runpy, signal, sys
rename = os.rename
def killing(src, dst):
    rename(src, dst)
    if ".old-" in str(dst):
        os.kill(os.getpid(), signal.SIGKILL)
os.rename = killing
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_a_committed_nights_folder_is_published_though_its_runs_pid_now_belongs_to_another_process(reference,
                                                                                                  tmp_path):
    """After a crash and a reboot the killed run's pid is soon another process's: the folder's start time
    tells them apart (a live `sleep` here takes the pid in the folder's name)."""
    state, out = tmp_path / "state", tmp_path / "out"
    killed = _nightly(reference, state, out, 1, DEDUP_STATE_KILL_AT="committed")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    [left] = [p for p in out.iterdir() if p.name.startswith(f".{NIGHTS[0]}.tmp-")]
    sleeper = subprocess.Popen(["sleep", "120"])
    try:
        left.rename(left.with_name(re.sub(r"-\d+(-\d+)?$", lambda m: f"-{sleeper.pid}{m[1] or ''}", left.name)))
        done = _nightly(reference, state, out, 2)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert done.returncode == 0, done.stderr
    assert output_files(out / NIGHTS[0]) == output_files(reference / "out" / NIGHTS[0])
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_a_run_that_fails_after_another_run_committed_its_night_publishes_nothing(reference, tmp_path, monkeypatch):
    """Another run of the same night commits while this one starts (forced here just before this run takes
    the lock); this one then fails while writing its outputs. Its half folder is not taken for a committed
    night's: the other run's outputs stay."""
    import dedup.pipeline

    nightly = load_nightly()
    state, out = tmp_path / "state", tmp_path / "out"
    folder = write_night(reference, 1)
    args = [str(folder), "--state", str(state), "--out", str(out), "--night", NIGHTS[0], "--quiet"]

    def racing_start(state_dir):
        other = subprocess.run([sys.executable, str(NIGHTLY), *args], capture_output=True, text=True, timeout=300,
                               check=False)
        assert other.returncode == 0, other.stderr
        return make_state_folder(state_dir)

    def failing_write(result, folder, config):
        (folder / "clusters.parquet").write_bytes(b"half")
        raise OSError(28, "No space left on device")

    make_state_folder = nightly.make_state_folder
    monkeypatch.setattr(nightly, "make_state_folder", racing_start)
    monkeypatch.setattr(dedup.pipeline, "write_outputs", failing_write)
    assert nightly.main(args) == 8
    assert output_files(out / NIGHTS[0]) == output_files(reference / "out" / NIGHTS[0])
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    assert Store(state).versions() == [1]


def test_a_rerun_killed_while_publishing_loses_no_outputs(reference, tmp_path):
    state, out = tmp_path / "state", tmp_path / "out"
    assert _nightly(reference, state, out, 1).returncode == 0
    killed = subprocess.run([sys.executable, "-c", _KILLED_IN_PUBLISH, str(NIGHTLY), str(write_night(reference, 1)),
                             "--state", str(state), "--out", str(out), "--night", NIGHTS[0], "--quiet"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (out / NIGHTS[0]).exists()
    done = _nightly(reference, state, out, 2)
    assert done.returncode == 0, done.stderr
    assert output_files(out / NIGHTS[0]) == output_files(reference / "out" / NIGHTS[0])
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


_HOLDER = """
import sys, time
from dedup.state import StateLock
StateLock(sys.argv[1]).acquire()
print("locked", flush=True)
time.sleep(120)
"""


def test_a_second_run_refuses_while_one_holds_the_lock_and_takes_over_once_it_died(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(state)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        folder = write_night(tmp_path, 1)
        with pytest.raises(StateLocked, match=rf"locked by another run \(pid {holder.pid} on "):
            run([folder], tmp_path / "out", state_dir=state, night=NIGHTS[0])
        refused = _nightly(tmp_path, state, tmp_path / "nights", 1)
        assert refused.returncode == 6
        assert "locked by another run" in (tmp_path / "nights" / "logs" / f"{NIGHTS[0]}.log").read_text()
        assert Store(state).versions() == []
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # The holder is dead: its lock is stale and the next run takes it over.
    result = run([folder], tmp_path / "out", state_dir=state, night=NIGHTS[0])
    assert result.summary["history"]["night"] == NIGHTS[0]
    assert not (state / "lock").exists()


def test_a_lock_whose_pid_was_recycled_is_stale(tmp_path):
    lock = StateLock(tmp_path).acquire()
    owner = json.loads((tmp_path / "lock").read_text())
    owner["proc_start"] = "1"          # our pid, but a process started at another time
    (tmp_path / "lock").write_text(json.dumps(owner))
    again = StateLock(tmp_path).acquire()
    assert again.takeover["proc_start"] == "1"
    again.release()
    lock._held = False


def test_a_lock_from_another_host_is_not_taken_over(tmp_path):
    (tmp_path / "lock").write_text(json.dumps({"pid": 1, "hostname": "elsewhere.example", "started": "x"}))
    with pytest.raises(StateLocked, match="held from another host"):
        StateLock(tmp_path).acquire()


def test_a_lock_being_written_is_not_described_as_another_hosts(tmp_path):
    # what a run killed between creating the lock and writing its owner leaves: stale after 5 s
    (tmp_path / "lock").write_bytes(b"")
    os.utime(tmp_path / "lock", (time.time() + 3600,) * 2)   # "just written", however long until acquire()
    with pytest.raises(StateLocked, match=r"has a lock being written .*; retry in a few seconds$") as caught:
        StateLock(tmp_path).acquire()
    assert "another host" not in str(caught.value) and "None" not in str(caught.value)


def test_a_process_holding_the_lock_takes_it_again_and_the_first_taker_releases_it(tmp_path):
    outer = StateLock(tmp_path).acquire()
    inner = StateLock(tmp_path).acquire()
    assert inner.takeover is None
    inner.release()
    assert (tmp_path / "lock").exists()
    outer.release()
    assert not (tmp_path / "lock").exists()
    StateLock(tmp_path).acquire().release()


def test_a_state_built_with_other_parameters_is_refused_with_what_differs(tmp_path):
    folder = write_night(tmp_path, 1)
    run([folder], tmp_path / "out", state_dir=tmp_path / "state", night=NIGHTS[0])
    other = Config().replace(shingle={"size": 5}, minhash={"num_perm": 64})
    with pytest.raises(StateError) as err:
        run([folder], tmp_path / "out", state_dir=tmp_path / "state", night=NIGHTS[0], config=other)
    message = str(err.value)
    assert "minhash.num_perm: state 128, this run 64" in message and "shingle.size: state 4, this run 5" in message
    assert err.value.exit_code == 5
    assert not (tmp_path / "state" / "lock").exists()
    # Alignment settings change only tonight's diffs, not what is stored: accepted.
    run([folder], tmp_path / "out", state_dir=tmp_path / "state", night=NIGHTS[0],
        config=Config().replace(align={"align_threshold": 0.6}))


def test_settings_added_by_a_newer_dedup_are_taken_on_and_changed_ones_still_refused(tmp_path):
    """A state written before a cluster setting existed (here: the re-send rule) goes on with it;
    stored shingles and band keys do not depend on it. A changed existing setting is still refused."""
    from dedup.state.params import fingerprint

    folder = write_night(tmp_path, 1)
    run([folder], tmp_path / "out", state_dir=tmp_path / "state", night=NIGHTS[0])
    path = tmp_path / "state" / "_manifests" / "000001.json"
    data = json.loads(path.read_text())
    for key in ("resend_max_days", "resend_min_title", "resend_min_containment"):
        del data["parameters"]["cluster"][key]
    data["fingerprint"] = fingerprint(data["parameters"])
    path.write_text(json.dumps(data))

    with pytest.raises(StateError, match=r"cluster.threshold: state 0.5, this run 0.6") as err:
        run([folder], tmp_path / "out", state_dir=tmp_path / "state", night=NIGHTS[0],
            config=Config().replace(cluster={"threshold": 0.6}))
    assert "resend" not in str(err.value)

    lines: list[str] = []
    run([write_night(tmp_path, 2)], tmp_path / "out2", state_dir=tmp_path / "state", night=NIGHTS[1],
        log=lines.append)
    assert any("new since this state was built" in line and "cluster.resend_max_days = 4.0" in line
               for line in lines), lines
    newest = sorted((tmp_path / "state" / "_manifests").glob("*.json"))[-1]
    assert json.loads(newest.read_text())["parameters"]["cluster"]["resend_max_days"] == 4.0


def test_a_state_of_another_format_version_is_refused(tmp_path):
    folder = write_night(tmp_path, 1)
    run([folder], tmp_path / "out", state_dir=tmp_path / "state", night=NIGHTS[0])
    path = tmp_path / "state" / "_manifests" / "000001.json"
    data = json.loads(path.read_text())
    data["format"], data["dedup_version"] = 99, "9.0"
    path.write_text(json.dumps(data))
    with pytest.raises(StateError, match="has format 99 \\(written by dedup 9.0\\); this dedup reads format 1 and 2"):
        run([folder], tmp_path / "out", state_dir=tmp_path / "state", night=NIGHTS[0])


def test_a_state_of_a_newer_format_with_fields_this_version_does_not_know_is_refused_by_its_format(tmp_path):
    folder = write_night(tmp_path, 1)
    run([folder], tmp_path / "out", state_dir=tmp_path / "state", night=NIGHTS[0])
    path = tmp_path / "state" / "_manifests" / "000001.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "format": 3, "dedup_version": "9.1",
                                "retention_days": 30}))
    with pytest.raises(StateError, match="has format 3 \\(written by dedup 9.1\\); this dedup reads format 1 and 2"):
        run([folder], tmp_path / "out", state_dir=tmp_path / "state", night=NIGHTS[1])
    path.write_text(json.dumps({"tables": {}}))   # no format: read as this one's, and not a manifest
    with pytest.raises(StateError, match="000001.json is not a dedup state manifest"):
        run([folder], tmp_path / "out", state_dir=tmp_path / "state", night=NIGHTS[1])


def test_bad_options_are_refused_as_bad_parameters_not_as_a_refused_state(tmp_path):
    # exit code 2 (a typo in the crontab), not 5 (the state cannot be used)
    folder = write_night(tmp_path, 1)
    cases = [({"window": "7x"}, "--window '7x'"), ({"window": "0d"}, "--window must be positive"),
             ({"night": "2026-13-01"}, "--night '2026-13-01'"),
             ({"window": "7d", "retention": "2d"}, "--retention .* must be at least --window"),
             # the calendar's ends: the window, the day before it and the retention must be dates
             ({"night": "9999-12-31"}, "beyond the calendar"), ({"night": "0001-01-03"}, "beyond the calendar"),
             ({"window": "800000d", "retention": "900000d"}, "beyond the calendar"),
             ({"window": "9999999999d"}, "--window '9999999999d' is longer than the calendar")]
    for options, message in cases:
        with pytest.raises(ConfigError, match=message) as caught:
            run([folder], tmp_path / "out", state_dir=tmp_path / "state", **options)
        assert not isinstance(caught.value, StateError) and caught.value.exit_code == 2
    for flags in (["--window", "7x"], ["--night", "2026-13-01"], ["--window", "40d"]):
        done = subprocess.run([sys.executable, "-m", "dedup.cli", "cluster", str(folder), "--out", str(tmp_path / "o"),
                               "--state", str(tmp_path / "state"), "--quiet", *flags], capture_output=True, text=True)
        assert done.returncode == 2, (flags, done.stderr)
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "state").exists() or not list((tmp_path / "state").glob("_manifests/*.json"))
    # the nightly recipe takes YYYY-MM-DD only: the night names its output folder and log as the state does
    for night in ("20261127", "2026-W48-5", "2026-13-01"):
        done = subprocess.run([sys.executable, str(NIGHTLY), str(folder), "--state", str(tmp_path / "state"),
                               "--out", str(tmp_path / "nightly"), "--night", night, "--quiet"],
                              capture_output=True, text=True)
        assert done.returncode == 2 and "expected YYYY-MM-DD" in done.stderr, (night, done.stderr)
        assert not (tmp_path / "nightly").exists()
    (tmp_path / "afile").write_text("hi")
    for flags, message in ((["--alert-rejects", "-1"], "expected a fraction"), (["--out", str(tmp_path / "afile")],
                                                                                  "cannot write the log")):
        done = subprocess.run([sys.executable, str(NIGHTLY), str(folder), "--state", str(tmp_path / "state"),
                               "--out", str(tmp_path / "nightly"), "--night", NIGHTS[0], "--quiet", *flags],
                              capture_output=True, text=True)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
    # an --out it cannot write into (not a file given by mistake) is exit 8, as for dedup cluster
    done = subprocess.run([sys.executable, str(NIGHTLY), str(folder), "--state", str(tmp_path / "state"),
                           "--out", "/proc/dedup-nightly-out", "--night", NIGHTS[0], "--quiet"],
                          capture_output=True, text=True)
    assert done.returncode == 8 and "cannot write the log" in done.stderr and "Traceback" not in done.stderr


def test_nightlys_usage_errors_are_one_line_exit_2(capsys):
    """A missing --state or a bad number: one line as the recipe's other errors (and dedup's), not argparse's
    usage block (a cron mail of five lines to find the one that matters)."""
    nightly = load_nightly()
    for argv, message in ((["/tmp"], "the following arguments are required: --state, --out"),
                          (["/tmp", "--state", "s", "--out", "o", "--alert-rejects", "abc"],
                           "argument --alert-rejects: invalid float value: 'abc'")):
        with pytest.raises(SystemExit) as stopped:
            nightly.main(argv)
        assert stopped.value.code == 2
        assert capsys.readouterr().err == f"nightly: error: {message} (see nightly.py --help)\n"


def test_the_night_defaults_to_the_newest_article_and_needs_a_date_otherwise(tmp_path):
    folder = write_night(tmp_path, 1)
    result = run([folder], tmp_path / "out", state_dir=tmp_path / "state")
    assert result.summary["history"]["night"] == NIGHTS[0]
    undated = write_night(tmp_path, 2, [{"id": "x", "text": "a b c d e f g h i j k l"}])
    with pytest.raises(StateError, match="give it with --night"):
        run([undated], tmp_path / "out2", state_dir=tmp_path / "state2")


def test_a_night_inferred_after_tomorrow_is_refused_before_anything_is_committed(tmp_path):
    # one record with a mistyped year would make 2207-03-01 the state's newest night, and refuse every
    # real night after it as older
    typo = {"id": "typo", "outlet": "Local 9", "text": " ".join(["harbour strike talks"] * 9),
            "published": "2207-03-01T06:00:00Z"}
    folder = write_night(tmp_path, 1, [*night_records(1), typo])
    with pytest.raises(StateError, match=r"^the night inferred from the newest article, 2207-03-01, is after "
                                         r"tomorrow \(.* UTC\): article 'typo' published 2207-03-01T06:00:00Z; "
                                         r".*give the night with --night YYYY-MM-DD$") as caught:
        run([folder], tmp_path / "out", state_dir=tmp_path / "state")
    assert caught.value.exit_code == 5
    assert Store(tmp_path / "state").manifest() is None
    logged = []
    run([write_night(tmp_path, 1)], tmp_path / "out", state_dir=tmp_path / "state", log=logged.append)
    newest = f"article 'p-o5' published {NIGHTS[0]}T11:00:00Z"
    assert f"night {NIGHTS[0]} (inferred from the newest article: {newest})" in logged
    # given with --night, the night is the user's: the run goes on
    assert run([folder], tmp_path / "out2", state_dir=tmp_path / "state",
               night=NIGHTS[1]).summary["history"]["night"] == NIGHTS[1]


def test_a_refusal_shows_the_differing_values_as_the_config_file_writes_them():
    from dedup.state.params import differences
    got = differences({"cluster": {"wire_outlets": [], "keep": True, "threshold": 0.5}},
                      {"cluster": {"wire_outlets": ("Wire One",), "keep": False, "threshold": 0.6}})
    assert got == ["cluster.keep: state true, this run false", "cluster.threshold: state 0.5, this run 0.6",
                   'cluster.wire_outlets: state [], this run ["Wire One"]']
    assert differences({"a": ["x"]}, {"a": ("x",)}) == []   # a tuple from a flag is the stored list
