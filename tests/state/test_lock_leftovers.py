"""A run taking over a stale lock moves it aside (``lock.stale-PID``) and deletes it; one killed in between
leaves that file. The next run to take the lock removes it once PID's process is gone, and never one of a live
process (a takeover under way), nor one renamed there a moment ago (a takeover on another host, whose PID
cannot be checked from here)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

from dedup.state import StateLock
from dedup.state import lock as state_lock


def _dead_pid() -> int:
    done = subprocess.Popen([sys.executable, "-c", ""])
    done.wait()
    return done.pid


def test_a_lock_moved_aside_by_a_run_killed_in_its_takeover_is_removed_once_the_lock_is_taken(tmp_path,
                                                                                               monkeypatch):
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        dead = _dead_pid()
        stale = json.dumps({"pid": 999, "hostname": socket.gethostname(), "started": "x"})
        for pid in (dead, live.pid):
            (tmp_path / f"lock.stale-{pid}").write_text(stale)
        (tmp_path / "lock.stale-notes").write_text("not a run's")
        monkeypatch.setattr(state_lock, "SETTLED", 0, raising=False)   # renamed there long ago
        lock = StateLock(tmp_path).acquire()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["lock", f"lock.stale-{live.pid}", "lock.stale-notes"]
        lock.release()
    finally:
        live.kill()
        live.wait()


def test_a_lock_moved_aside_a_moment_ago_is_left_to_its_takeover(tmp_path):
    aside = tmp_path / f"lock.stale-{_dead_pid()}"
    aside.write_text("{}")
    StateLock(tmp_path).acquire().release()
    assert aside.exists()
