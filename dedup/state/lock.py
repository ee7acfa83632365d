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
A run takes a stale lock over by moving it aside (``lock.stale-PID``) and deleting it; one killed in
between leaves that file, which the next run to take the lock removes once PID's process is gone.

A process that holds the lock may take it again (``pipelines/nightly.py`` holds
it around ``dedup.run``, so that the version the night commits is the one after
the head it read): the inner lock shares the outer one, which alone releases it.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from dedup.state.errors import StateLocked
from dedup.state.store import writing_state

LOCK_NAME = "lock"
#: Seconds after which a lock file is no write or rename in progress (one half written; one moved aside, see
#: StateLock._remove_left_aside).
SETTLED = 5
# The locks this process holds: lock path -> how many StateLock objects share it.
_HELD: dict[Path, int] = {}


def proc_start(pid: int) -> str | None:
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


def owner_alive(pid: int, start: str | None) -> bool:
    """Whether the process ``pid`` that started at ``start`` (its :func:`proc_start`; None: not known)
    still runs on this host: a pid recycled by another process since is not it."""
    if not pid_alive(pid):
        return False
    actual = proc_start(pid)
    return start is None or actual is None or start == actual


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
        self._held = self._nested = False

    def _owner(self) -> dict:
        pid = os.getpid()
        return {"pid": pid, "hostname": socket.gethostname(), "proc_start": proc_start(pid),
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
                return time.time() - self.path.stat().st_mtime > SETTLED
            except FileNotFoundError:
                return True
        if owner.get("hostname") != socket.gethostname():
            return False
        pid = owner.get("pid")
        return not isinstance(pid, int) or not owner_alive(pid, owner.get("proc_start"))

    def _mine(self) -> bool:
        """Whether this process holds the lock already (through another StateLock)."""
        found = self._read() if _HELD.get(self.path.absolute()) else None
        me = self._owner()
        return found is not None and all(found[1].get(k) == me[k] for k in ("pid", "hostname", "proc_start"))

    def acquire(self) -> "StateLock":
        # A lock that cannot be made (a read-only or full file system, no permission) is a state folder that
        # cannot be written: exit 8 as for its tables, not an internal error.
        with writing_state(self.path.parent):
            return self._take()

    def _take(self) -> StateLock:
        key = self.path.absolute()
        if self._mine():
            _HELD[key] += 1
            self._held = self._nested = True
            return self
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
                    if not owner:   # stale in a few seconds: there is no owner to name
                        raise StateLocked(f"state {self.path.parent} has a lock being written ({self.path}), or left "
                                          "by a run killed while taking it; retry in a few seconds") from None
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
            except OSError:   # a full disk: no empty lock left behind for the next run to wait on
                os.unlink(self.path)
                raise
            finally:
                os.close(fd)
            self._held, _HELD[key] = True, 1
            self._remove_left_aside()
            return self
        raise StateLocked(f"could not take the lock {self.path}: another run keeps taking it; try again")

    def _remove_left_aside(self) -> None:
        """Remove the ``lock.stale-PID`` files of runs killed while taking over a stale lock (between moving
        it aside and deleting it), once the lock is taken: those whose PID no process here has, renamed
        there ``SETTLED`` seconds ago or more (a run on another host, whose PID cannot be checked from here,
        is past its takeover by then). Never one of a live process's PID (a takeover under way)."""
        for aside in sorted(self.path.parent.glob(f"{LOCK_NAME}.stale-*")):
            pid = aside.name.removeprefix(f"{LOCK_NAME}.stale-")
            try:
                if pid.isdigit() and not pid_alive(int(pid)) and time.time() - aside.stat().st_ctime >= SETTLED:
                    aside.unlink()
            except (OSError, OverflowError):   # gone meanwhile, not ours to remove, no such pid: left as it is
                pass

    def release(self) -> None:
        if not self._held:
            return
        key = self.path.absolute()
        if self._nested:
            _HELD[key] -= 1
            self._held = self._nested = False
            return
        _HELD.pop(key, None)
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
