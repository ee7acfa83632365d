"""One writer at a time: the state folder's lock file, with stale-lock detection.

``STATE/lock`` is created with ``O_CREAT | O_EXCL`` (atomic on local file
systems) and holds who owns it: ``pid``, ``hostname``, the process's start
time (``proc_start``, from ``/proc/PID/stat``, so that a recycled pid is not
mistaken for the owner) and the wall-clock ``started`` time.

A lock is **stale**, and is taken over, when it was written on this host and
its process no longer runs (``kill -9``, a reboot, an out-of-memory kill), or
runs but started at another time (the pid was recycled). A lock held by
another host cannot be checked from here: the run refuses and says which host
and pid hold it, and that deleting the file is safe once that run is gone.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from dedup.state.errors import StateLocked

LOCK_NAME = "lock"


def _proc_start(pid: int) -> str | None:
    """Start time of ``pid`` in clock ticks since boot (Linux), or None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    return stat.rsplit(")", 1)[1].split()[19]


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _describe(owner: dict) -> str:
    return (f"pid {owner.get('pid')} on {owner.get('hostname')}, started {owner.get('started')}"
            + (f" ({owner.get('command')})" if owner.get("command") else ""))


class StateLock:
    """Exclusive lock on a state folder; use as a context manager.

    ``takeover`` records the owner of a stale lock this lock replaced (for the
    log), or None.
    """

    def __init__(self, state_dir: str | Path, *, command: str = ""):
        self.path = Path(state_dir) / LOCK_NAME
        self.command = command
        self.takeover: dict | None = None
        self._held = False

    def _owner(self) -> dict:
        pid = os.getpid()
        return {"pid": pid, "hostname": socket.gethostname(), "proc_start": _proc_start(pid),
                "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "command": self.command}

    def _read(self) -> tuple[bytes, dict] | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return raw, json.loads(raw)
        except ValueError:
            return raw, {}   # half-written by a process killed while creating it

    def _is_stale(self, owner: dict) -> bool:
        if not owner:
            # Unreadable: a process killed between creating and writing it. It is
            # stale once it is older than any real write of a few bytes.
            try:
                return time.time() - self.path.stat().st_mtime > 5
            except FileNotFoundError:
                return True
        if owner.get("hostname") != socket.gethostname():
            return False
        pid = owner.get("pid")
        if not isinstance(pid, int) or not pid_alive(pid):
            return True
        recorded, actual = owner.get("proc_start"), _proc_start(pid)
        return recorded is not None and actual is not None and recorded != actual

    def acquire(self) -> "StateLock":
        payload = json.dumps(self._owner(), sort_keys=True).encode()
        for _attempt in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                found = self._read()
                if found is None:
                    continue            # released meanwhile: try again
                raw, owner = found
                if not self._is_stale(owner):
                    where = "" if owner.get("hostname") == socket.gethostname() else \
                        "; it is held from another host, so it cannot be checked from here"
                    raise StateLocked(
                        f"state {self.path.parent} is locked by another run ({_describe(owner)}){where}; "
                        f"wait for it to finish, or delete {self.path} if that run is gone") from None
                # Stale: move it aside, then check that what moved is the stale
                # lock and not one a concurrent run created meanwhile (if it is,
                # put it back and let that run have it).
                aside = self.path.with_name(f"{LOCK_NAME}.stale-{os.getpid()}")
                try:
                    os.rename(self.path, aside)
                except FileNotFoundError:
                    continue
                moved = aside.read_bytes()
                if moved != raw:
                    try:
                        os.link(aside, self.path)
                    except FileExistsError:
                        pass
                    os.unlink(aside)
                    continue
                os.unlink(aside)
                self.takeover = owner
                continue
            try:
                os.write(fd, payload)
                os.fsync(fd)
            finally:
                os.close(fd)
            self._held = True
            return self
        raise StateLocked(f"could not take the lock {self.path}: another run keeps taking it; try again")

    def release(self) -> None:
        if not self._held:
            return
        found = self._read()
        owner = found[1] if found else None
        if owner and owner.get("pid") == os.getpid() and owner.get("hostname") == socket.gethostname():
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
        self._held = False

    def __enter__(self) -> "StateLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
