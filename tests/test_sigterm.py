"""SIGTERM (a scheduler's stop: timeout, systemd, Kubernetes) ends `dedup cluster` and nightly.py as Ctrl-C
does, cleanup done, with its own message and exit 143; forked workers neither linger nor run that cleanup."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from dedup.cli import main
from dedup.state import Store
from tests.state import test_safety
from tests.state.corpus import NIGHTS, load_nightly, output_files, write_night

reference = test_safety.reference   # night 1 committed in reference/state1; night 2 run whole into reference/out
ROOT = Path(__file__).resolve().parents[1]
TERM = {"DEDUP_STATE_KILL_SIGNAL": "TERM"}   # checkpoint() sends SIGTERM, not SIGKILL


def _record(signum, frame):
    _record.calls += 1


@pytest.fixture
def own_handler():
    """A SIGTERM handler of the host's, restored after the test: the CLI must put it back."""
    _record.calls = 0
    previous = signal.signal(signal.SIGTERM, _record)
    yield _record
    signal.signal(signal.SIGTERM, previous)


def _cluster(root: Path, state: Path, out: Path, *flags: str, **env) -> subprocess.CompletedProcess:
    """`dedup cluster` of night 2 (the reference's input) into ``out``, with ``state``."""
    return subprocess.run([sys.executable, "-m", "dedup.cli", "cluster", str(root / "in" / NIGHTS[1]), "--state",
                           str(state), "--out", str(out), "--night", NIGHTS[1], *flags],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=300, check=False)


def test_sigterm_raises_terminated_once_and_the_handler_is_restored(own_handler):
    from dedup.signals import EXIT_TERMINATED, Terminated, sigterm_interrupts

    with pytest.raises(Terminated), sigterm_interrupts():
        os.kill(os.getpid(), signal.SIGTERM)
    assert issubclass(Terminated, KeyboardInterrupt) and EXIT_TERMINATED == 143
    with sigterm_interrupts():
        with pytest.raises(KeyboardInterrupt):   # every Ctrl-C path catches it
            os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)     # timeout's second one, to the process group: cleanup goes on
    assert signal.getsignal(signal.SIGTERM) is own_handler and own_handler.calls == 0
    os.kill(os.getpid(), signal.SIGTERM)
    assert own_handler.calls == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_process_forked_under_it_ends_on_sigterm_as_by_default_not_as_its_parent():
    """A worker forked by the run inherits the handler: it must die at once, never run the parent's cleanup."""
    from dedup.signals import sigterm_interrupts

    with sigterm_interrupts():
        pid = os.fork()
        if pid == 0:   # the child
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(10)
            finally:
                os._exit(3)   # reached only if SIGTERM did not end it (a Terminated on its way up the stack)
        _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM


def test_cli_terminated_is_one_line_and_exit_143_and_the_handler_is_restored(tmp_path, monkeypatch, own_handler):
    import dedup.pipeline

    def terminated(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)   # a scheduler's stop midway

    monkeypatch.setattr(dedup.pipeline, "run", terminated)
    res = CliRunner().invoke(main, ["cluster", str(tmp_path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 143 and res.stderr == "dedup: terminated\n", res.stderr
    assert signal.getsignal(signal.SIGTERM) is own_handler and own_handler.calls == 0


def test_nightly_terminated_exits_143_logs_it_releases_the_lock_and_restores_the_handler(tmp_path, monkeypatch,
                                                                                         own_handler):
    nightly = load_nightly()
    folder = write_night(tmp_path, 1)

    def terminated(inputs, out, **kwargs):
        out.mkdir(parents=True)
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(nightly, "run", terminated)
    code = nightly.main([str(folder), "--state", str(tmp_path / "s"), "--out", str(tmp_path / "o"),
                         "--night", NIGHTS[0], "-q"])
    assert code == 143
    log = (tmp_path / "o" / "logs" / f"{NIGHTS[0]}.log").read_text()
    assert "ERROR terminated" in log and log.endswith(f"end night {NIGHTS[0]}: exit 143\n")
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["logs"]   # no .tmp- folder
    assert not (tmp_path / "s" / "lock").exists()
    assert signal.getsignal(signal.SIGTERM) is own_handler and own_handler.calls == 0


@pytest.mark.parametrize("point", ["clustered", "outputs_written", "articles_written", "manifest_written"])
def test_cli_terminated_midrun_leaves_the_state_as_before_and_unlocked_and_a_rerun_is_identical(reference,
                                                                                               tmp_path, point):
    state, out = tmp_path / "state", tmp_path / "out"
    shutil.copytree(reference / "state1", state)
    versions = Store(state).versions()
    stopped = _cluster(reference, state, out, "-q", DEDUP_STATE_KILL_AT=point, **TERM)
    assert stopped.returncode == 143, stopped.stderr
    assert stopped.stderr == "dedup: terminated\n"
    assert not (state / "lock").exists()                                   # released, not left stale
    assert Store(state).versions() == versions
    assert test_safety._tables(state) == test_safety._tables(reference / "state1")
    assert not list(out.glob("*.partial"))                                 # as after Ctrl-C
    rerun = _cluster(reference, state, out)
    assert rerun.returncode == 0, rerun.stderr
    assert "stale lock" not in rerun.stderr, rerun.stderr
    assert output_files(out) == output_files(reference / "out" / NIGHTS[1])
    assert test_safety._tables(state) == test_safety._tables(reference / "state2")


def test_nightly_terminated_midrun_exits_143_logs_it_and_leaves_no_folder(reference, tmp_path):
    state, out = tmp_path / "state", tmp_path / "out"
    shutil.copytree(reference / "state1", state)
    stopped = test_safety._nightly(reference, state, out, 2, DEDUP_STATE_KILL_AT="outputs_written", **TERM)
    assert stopped.returncode == 143, stopped.stderr
    log = (out / "logs" / f"{NIGHTS[1]}.log").read_text()
    assert "ERROR terminated" in log and log.endswith(f"end night {NIGHTS[1]}: exit 143\n")
    assert sorted(p.name for p in out.iterdir()) == ["logs"]               # no .NIGHT.tmp-v… folder
    assert not (state / "lock").exists() and Store(state).versions() == [1]
    rerun = test_safety._nightly(reference, state, out, 2)
    assert rerun.returncode == 0, rerun.stderr
    assert "stale lock" not in (out / "logs" / f"{NIGHTS[1]}.log").read_text()
    assert output_files(out / NIGHTS[1]) == output_files(reference / "out" / NIGHTS[1])


# `dedup cluster` with the alignment's chunks on two forked workers that never finish (they mark that
# they started, then sleep): the signal comes while they run.
_SLOW_WORKERS = """
import os, sys, time
from pathlib import Path
import dedup.align.parallel as parallel
parallel.MIN_PARALLEL_ARTICLES = 1
original, parent, marks = parallel._run_shared, os.getpid(), Path(sys.argv[1])
def slow(token, bound):
    if os.getpid() != parent:
        (marks / str(os.getpid())).write_text("")
        time.sleep(3600)
    return original(token, bound)
parallel._run_shared = slow
sys.argv = ["dedup", *sys.argv[2:]]
from dedup.cli import main
main()
"""


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="workers are forked on Linux")
@pytest.mark.parametrize("to", ["process", "process group"])
def test_sigterm_while_workers_run_kills_them_and_the_run_ends_143_at_once(reference, tmp_path, to):
    """As `kill PID` (Kubernetes, a CI runner) or to the whole group (timeout, systemd): the parent does not
    wait for the chunks under way, no worker is left running, and only the parent reports and cleans up."""
    state, marks = tmp_path / "state", tmp_path / "marks"
    shutil.copytree(reference / "state1", state)
    marks.mkdir()
    (tmp_path / "w2.toml").write_text("[align]\nworkers = 2\n")
    run = subprocess.Popen([sys.executable, "-c", _SLOW_WORKERS, str(marks), "cluster",
                            str(reference / "in" / NIGHTS[1]), "--state", str(state), "--out", str(tmp_path / "out"),
                            "--night", NIGHTS[1], "--config", str(tmp_path / "w2.toml"), "-q"],
                           stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while len(list(marks.iterdir())) < 2 and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = [int(p.name) for p in marks.iterdir()]
        assert len(workers) == 2 and run.poll() is None, run.stderr.read() if run.poll() is not None else ""
        if to == "process":
            os.kill(run.pid, signal.SIGTERM)
        else:
            os.killpg(run.pid, signal.SIGTERM)
        _, err = run.communicate(timeout=60)   # not the workers' hour
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    assert run.returncode == 143 and err == "dedup: terminated\n", err   # no worker's traceback or line
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if _running(pid)]
    assert not (state / "lock").exists() and Store(state).versions() == [1]


_SPARK_BLOCKED = r"""
import sys
from pathlib import Path
import dedup.spark as spark
mark = Path(sys.argv[1])
def blocked(inputs, out_dir, *, config=None, master=None, log=None, quiet=False, spark_session=None):
    session = spark.get_session(master=master)
    mark.write_text("")
    session._jvm.java.lang.Thread.sleep(3_600_000)   # the driver waits on the JVM, as in a Spark job
spark.run_spark = blocked
sys.argv = ["dedup", *sys.argv[2:]]
from dedup.cli import main
main()
"""


def test_sigterm_while_the_spark_driver_waits_on_the_jvm_is_one_line(tmp_path):
    """py4j logs an interruption of its call, with tracebacks, through the root logger (which configured
    itself to stderr): the CLI's stderr holds only its own line."""
    from dedup.spark import unavailable_reason

    reason = unavailable_reason()
    if reason:
        pytest.skip(f"Spark engine unavailable: {reason}")
    mark = tmp_path / "waiting"
    run = subprocess.Popen([sys.executable, "-c", _SPARK_BLOCKED, str(mark), "cluster", "examples/sample-corpus",
                            "--engine", "spark", "--master", "local[1]", "--out", str(tmp_path / "out"), "-q"],
                           stderr=subprocess.PIPE, text=True, start_new_session=True,
                           cwd=Path(__file__).resolve().parents[1])
    try:
        deadline = time.monotonic() + 180
        while not mark.exists() and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert mark.exists() and run.poll() is None, run.stderr.read() if run.poll() is not None else "no JVM"
        time.sleep(0.5)   # into the JVM call
        os.kill(run.pid, signal.SIGTERM)
        _, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    # the JVM's own start-up lines share stderr; after them, only the run's line
    assert run.returncode == 143 and err.endswith("\ndedup: terminated\n"), err
    assert "Traceback" not in err and "py4j" not in err and "\n\ndedup: terminated" not in err, err


def test_the_spark_runs_stderr_handler_writes_where_stderr_is_now(monkeypatch):
    """The root handler the CLI adds on the Spark engine follows ``sys.stderr`` (click's CliRunner swaps it
    for each call), keeps other libraries' warnings and leaves py4j's reports out."""
    import io
    import logging

    from dedup import cli

    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    cli._quiet_py4j()
    cli._quiet_py4j()
    assert len(root.handlers) == 1
    for _ in range(2):
        stream = io.StringIO()
        monkeypatch.setattr(sys, "stderr", stream)
        logging.getLogger("some.library").warning("a library's warning")
        logging.getLogger("py4j.clientserver").error("closing down")
        assert stream.getvalue() == "a library's warning\n"
