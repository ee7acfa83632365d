"""SIGTERM (a scheduler's timeout, ``systemctl stop``) ends a run as Ctrl-C does: the state's lock released,
one line (``dedup``) or a logged end and no night folder (``pipelines/nightly.py``), exit 143. Before,
Python's default ended the process on the spot: no line, a lock and folders left for the next run."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.state.corpus import NIGHTS, write_night

REPO = Path(__file__).resolve().parents[2]

# Runs the command in argv[2:] with the alignment stage replaced by one that says it started (the file
# argv[1]) and waits: the run holds the state's lock and has made its folders by then.
_DRIVER = """
import runpy, sys, time
from pathlib import Path
import dedup.pipeline
started = Path(sys.argv[1])

def waiting(*args, **kwargs):
    started.write_text("aligning")
    time.sleep(120)

dedup.pipeline.align_reusing = waiting
dedup.pipeline.align_clusters = waiting
if sys.argv[2] == "dedup":
    from dedup.cli import main
    sys.argv = ["dedup", *sys.argv[3:]]
    main()
else:
    sys.argv = sys.argv[3:]
    runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _terminated(tmp_path: Path, command: list[str]) -> subprocess.CompletedProcess:
    started = tmp_path / "started"
    proc = subprocess.Popen([sys.executable, "-c", _DRIVER, str(started), *command], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300   # numba's first compile on a fresh install
    while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert started.exists(), err
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is POSIX")
def test_dedup_cluster_terminated_is_one_line_exit_143_and_releases_the_lock(tmp_path):
    folder = write_night(tmp_path, 1)
    done = _terminated(tmp_path, ["dedup", "cluster", str(folder), "--out", str(tmp_path / "o"),
                                  "--state", str(tmp_path / "s"), "--night", NIGHTS[0], "-q"])
    assert done.returncode == 143, done.stderr
    assert done.stderr.strip() == "dedup: terminated (SIGTERM)", done.stderr
    assert not (tmp_path / "s" / "lock").exists()
    assert not (tmp_path / "o" / "timings.json").exists()   # as after Ctrl-C: the mark of a finished run is absent


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is POSIX")
def test_the_nightly_recipe_terminated_logs_its_end_exits_143_and_releases_the_lock(tmp_path):
    folder = write_night(tmp_path, 1)
    done = _terminated(tmp_path, ["nightly", str(REPO / "pipelines" / "nightly.py"), str(folder),
                                  "--state", str(tmp_path / "s"), "--out", str(tmp_path / "o"),
                                  "--night", NIGHTS[0], "-q"])
    assert done.returncode == 143, done.stderr
    log = (tmp_path / "o" / "logs" / f"{NIGHTS[0]}.log").read_text()
    assert "ERROR terminated (SIGTERM)" in log and log.endswith(f"end night {NIGHTS[0]}: exit 143\n"), log
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["logs"]
    assert not (tmp_path / "s" / "lock").exists()
