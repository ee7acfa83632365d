"""Measured child processes: wall time, peak RSS, and the peak PSS of the whole process tree.

Used by ``bench_scale.py``, ``bench_nightly.py`` (and so ``bench_history.py``) and ``bench_spark.py``.
Standard library only: this file is also the launcher's program.

**Why a launcher.** On Linux a process's ``ru_maxrss`` starts from the high-water mark of the memory
map it was forked with: ``subprocess`` starts children with ``vfork`` + ``exec``, and ``exec`` records
the *parent's* high-water mark as the child's, so a benchmark that built its corpus in memory and then
started the measured run reported at least its own peak as the run's (a plain ``fork`` records the
parent's resident size at the fork). :func:`run` therefore starts a small launcher (``python -I -S
procmem.py``: this file, about 14 MB, now the floor of every peak RSS), and the launcher starts the
measured command: the command's ``ru_maxrss`` (whether the command reads it itself or the launcher
reads ``RUSAGE_CHILDREN``) starts from the launcher's, not from the benchmark's.

**What is measured**, in the launcher:

* ``seconds``: wall time from just before the command is started to its exit, taken by a blocking
  ``wait`` (no polling: the time ends when the process does);
* ``peak_rss_mb``: the launcher's ``RUSAGE_CHILDREN`` ``ru_maxrss`` after the command exits, i.e. the
  largest ``ru_maxrss`` of the command's process and of the descendants it waited for (as
  ``/usr/bin/time -v`` reports it: the largest single process);
* ``peak_pss_mb``: the largest sum, over the command's process and all its descendants at one moment
  (forked workers, a JVM and its Python workers), of their proportional set size, sampled from
  ``/proc/PID/smaps_rollup`` every ``interval`` seconds (0.2 s by default) by a thread of the launcher.
  PSS counts a page shared by n processes as 1/n in each, so the sum is the physical memory the run
  holds (a sum of RSS would count copy-on-write pages once per worker); a spike shorter than the
  interval can be missed. Linux only (nan elsewhere).
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

INTERVAL = 0.2


def tree_pss_mb(pid: int) -> float:
    """Proportional set size (MB) of process ``pid`` and all its descendants (Linux; nan elsewhere).

    PSS counts a page shared by n processes as 1/n in each, so the sum is the physical memory the
    run holds, forked workers included (a sum of RSS would count copy-on-write pages once per worker).
    """
    children: dict[int, list[int]] = {}
    try:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        children.setdefault(int(f.read().rsplit(")", 1)[1].split()[1]), []).append(int(entry))
                except OSError:
                    continue
    except OSError:
        return float("nan")
    total, todo = 0.0, [pid]
    while todo:
        q = todo.pop()
        try:
            with open(f"/proc/{q}/smaps_rollup") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("Pss:")) / 1024
        except (OSError, StopIteration):
            continue
        todo.extend(children.get(q, []))
    return total


@dataclass
class Measured:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float          # wall, command start to exit (unrounded)
    peak_rss_mb: float      # largest ru_maxrss of the command's process and its waited-for descendants
    peak_pss_mb: float      # peak sampled PSS of the command's whole process tree


def run(argv: list[str], cwd: str | Path | None = None, interval: float = INTERVAL) -> Measured:
    """Run ``argv`` (in ``cwd``) through a fresh launcher and measure it (see the module's docstring)."""
    with tempfile.TemporaryDirectory(prefix="procmem-") as tmp:
        spec = {"argv": [str(a) for a in argv], "cwd": None if cwd is None else str(cwd), "interval": interval,
                "stdout": f"{tmp}/stdout", "stderr": f"{tmp}/stderr", "result": f"{tmp}/result.json"}
        launcher = subprocess.run([sys.executable, "-I", "-S", str(Path(__file__).resolve()), json.dumps(spec)],
                                  capture_output=True, text=True, check=False)
        if launcher.returncode != 0:
            raise RuntimeError(f"launcher failed ({launcher.returncode}):\n{launcher.stderr[-3000:]}")
        result = json.loads(Path(spec["result"]).read_text())
        stdout = Path(spec["stdout"]).read_text(errors="replace")
        stderr = Path(spec["stderr"]).read_text(errors="replace")
    return Measured(list(spec["argv"]), result["returncode"], stdout, stderr, result["seconds"],
                    result["peak_rss_mb"], result["peak_pss_mb"])


def _launch(spec: dict) -> dict:
    """The launcher's work: start the command, sample its tree's PSS on a thread, wait for it."""
    peak = [0.0]
    stop = threading.Event()

    def sample(pid: int) -> None:
        while True:
            pss = tree_pss_mb(pid)
            if not math.isnan(pss):
                peak[0] = max(peak[0], pss)
            if stop.wait(spec["interval"]):
                return

    with open(spec["stdout"], "w") as out, open(spec["stderr"], "w") as err:
        start = time.perf_counter()
        child = subprocess.Popen(spec["argv"], stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=spec["cwd"])
        sampler = threading.Thread(target=sample, args=(child.pid,), daemon=True)
        sampler.start()
        returncode = child.wait()
        seconds = time.perf_counter() - start
        stop.set()
        sampler.join()
    # the launcher's only child: its children's ru_maxrss is the command's
    return {"returncode": returncode, "seconds": seconds,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            "peak_pss_mb": peak[0] if sys.platform.startswith("linux") else float("nan")}


if __name__ == "__main__":
    _spec = json.loads(sys.argv[1])
    Path(_spec["result"]).write_text(json.dumps(_launch(_spec)))
