"""The nightly run a desk schedules: tonight's feeds against the stored stories.

Composes the library (``dedup.run`` with a state folder); it decides nothing
itself. Each night:

* reads INPUTS (``{night}`` in a path is replaced by the night's date, so one
  cron line serves every night: ``/srv/feeds/{night}/``);
* matches them against the articles of the previous ``--window`` kept in
  ``--state``, and updates the state;
* writes the outputs into ``OUT/NIGHT/`` (``OUT/2026-11-27/clusters.parquet``,
  ``report.html``...). They are written into a temporary folder beside it and
  renamed when complete, so ``OUT/NIGHT/`` is either the previous complete
  run's or this one's, never half of one; the outputs of a night the state
  committed are never lost (a run killed after the commit has its folder
  published by the next run, see ``_recover``);
* appends to ``OUT/logs/NIGHT.log`` (start, parameters, stage timings, counts,
  history, end and exit code), and prints the same to stderr unless ``--quiet``
  (with progress bars when stderr is a terminal, as ``dedup cluster`` draws them).

Rerunning a night (by hand, or because the scheduler retried) replaces that
night, with identical outputs. Example cron line (02:30 every night, for the
previous day's feeds; ``-q`` because cron mails any output, and the log has it all)::

    30 2 * * *  cd /srv/dedup && python pipelines/nightly.py /srv/feeds/{night}/ --state /srv/dedup/state --out /srv/dedup/nights -q || mail -s "dedup nightly failed: $?" desk@example.org

(one line: cron has no line continuation).

The default night is yesterday in the machine's time zone (``TZ``, as cron and
``date -d yesterday`` read it): the local day before the run, whatever the zone
and across summer time changes (yesterday in UTC skipped a night when an
eastern zone left summer time, and lagged a day east of UTC+2:30).

Exit codes (alert on any non-zero):

====  ==============================================================
0     success (rejected records are listed in rejected.jsonl)
1     internal error (the log has the traceback)
2     bad parameter or config file (a malformed --window or --night too)
3     unusable input (missing folder, no readable file)
4     a record was rejected under ``[read] strict`` (the config file)
5     state refused: other parameters, incompatible format, older night, a night after tomorrow (UTC; given or inferred),
      a newest version that lacks a file (the log says how to go back to the version before)
6     another run holds the state's lock (the run did nothing)
7     done, but more records than ``--alert-rejects`` were rejected
8     the outputs, the state or the log cannot be written (full disk, no permission; the log's failure
      is also one line on stderr, even with ``--quiet``)
130   interrupted (Ctrl-C)
143   terminated (SIGTERM: a scheduler's stop, ``timeout``, systemd); as after Ctrl-C, the lock is released
      and no temporary output folder is left, and the log says ``terminated``
====  ==============================================================
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import sys
import time
import traceback
from datetime import date, datetime, timedelta
from pathlib import Path

from dedup import Config, DedupError, __version__, run
from dedup.errors import ConfigError
from dedup.io import local_folder
from dedup.progress import Progress
from dedup.signals import EXIT_TERMINATED, Terminated, sigterm_interrupts
from dedup.state import DEFAULT_RETENTION, DEFAULT_WINDOW, StateLock, Store
from dedup.state.lock import owner_alive, pid_alive, proc_start
from dedup.state.night import make_state_folder

EXIT_INTERNAL = 1
EXIT_TOO_MANY_REJECTS = 7
EXIT_CANNOT_WRITE = 8   # as dedup.errors.OutputError
EXIT_INTERRUPTED = 130   # as a shell reports a command ended by Ctrl-C (SIGINT); EXIT_TERMINATED 143: SIGTERM


class _Parser(argparse.ArgumentParser):
    """argparse's parser, but a usage error (a missing --state, a bad number) is one line,
    ``nightly: error: ... (see nightly.py --help)``, exit 2, like the recipe's other errors and dedup's."""

    def error(self, message: str):
        self.exit(2, f"nightly: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="nightly.py", description="Cluster tonight's articles against the stored stories (dedup).",
        epilog="Example: python pipelines/nightly.py /srv/feeds/{night}/ --state state --out nights")
    parser.add_argument("inputs", nargs="+", help="files or folders; {night} is replaced by the night's date")
    # str, not Path: an empty value (an unset variable in the crontab) is refused, not read as "."
    parser.add_argument("--state", required=True, help="the state folder (created on the first night)")
    parser.add_argument("--out", required=True, help="root of the date-stamped output folders")
    parser.add_argument("--night", default=None,
                        help="the night's date, YYYY-MM-DD (default: yesterday in the machine's time zone)")
    parser.add_argument("--window", default=DEFAULT_WINDOW, help=f"matching window (default {DEFAULT_WINDOW})")
    parser.add_argument("--retention", default=DEFAULT_RETENTION,
                        help=f"keep texts this long (default {DEFAULT_RETENTION}); the history is kept")
    parser.add_argument("--config", default=None, help="TOML config file (see README)")   # "" refused, not "."
    parser.add_argument("--alert-rejects", type=float, default=None, metavar="FRACTION",
                        help="exit 7 when more than this fraction of the records was rejected")
    parser.add_argument("--quiet", "-q", action="store_true", help="log to the file only")
    return parser


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    return _parser().parse_args(argv)


class _LogFile(logging.FileHandler):
    """The night's log file. A record it cannot write (a full disk) is not a traceback on stderr for every
    record, as logging prints: the first failure is kept (``failure``), and :func:`main` reports it in one
    line and exits 8."""

    failure: OSError | None = None

    def handleError(self, record: logging.LogRecord) -> None:
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):   # not the file's: a bug in a log call, which logging reports
            super().handleError(record)
        elif self.failure is None:
            self.failure = exc


def _logger(path: Path, quiet: bool) -> logging.Logger:
    log = logging.getLogger(f"dedup.nightly.{path}")
    log.setLevel(logging.INFO)
    log.propagate = False
    for h in list(log.handlers):
        log.removeHandler(h)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%SZ")
    fmt.converter = time.gmtime
    handlers = [_LogFile(path, encoding="utf-8")] + ([] if quiet else [logging.StreamHandler(sys.stderr)])
    for h in handlers[1:]:   # a record main logged for the file only (what stderr has had from it already)
        h.addFilter(lambda record: not getattr(record, "file_only", False))
    for h in handlers:
        h.setFormatter(fmt)
        log.addHandler(h)
    return log


# A run holds the state's lock from before it reads the state's newest version BASE until its outputs
# are published, and writes them into OUT/.NIGHT.tmp-vBASE-OWNER (OWNER: its pid and process start time,
# see _owner). The invariant: once the state has committed a night, OUT/NIGHT is that run's outputs, or
# they are in a folder the next run publishes. The state commits only after the outputs are written, and
# under the lock the version the run commits, if it commits, is BASE + 1: if that version is NIGHT's, the
# folder is complete and must not be deleted (the night cannot be redone once a later night is
# committed); if not, the run died or failed before its commit and the folder (maybe half written) goes,
# since a rerun redoes it. (A `dedup cluster` run that took over the lock of a nightly run killed before
# its commit, and committed the same night, would make that run's folder look committed: run the nights
# of a state through this recipe.) A name of an earlier nightly.py has no start time: its pid alone is
# checked.
_TMP = re.compile(r"\.(?P<night>\d{4}-\d{2}-\d{2})\.tmp-v(?P<base>\d+)-(?P<pid>\d+)(?:-(?P<start>\d+))?")
_OLD = re.compile(r"\.(?P<night>\d{4}-\d{2}-\d{2})\.old-(?P<pid>\d+)(?:-(?P<start>\d+))?")


def _owner() -> str:
    """This process, in the name of its folders: pid and start time (as the state's lock records it), so
    that a folder is not taken for a live run's once its pid is recycled (after a reboot, say)."""
    start = proc_start(os.getpid())
    return f"{os.getpid()}-{start}" if start else str(os.getpid())


def _gone(path: Path, found: re.Match | None) -> bool:
    """Whether the run that named the folder ``path`` no longer runs. ``found``: the name's _TMP or _OLD
    match; None for a name of an older nightly.py, whose last part is the pid."""
    if found is None:
        pid = path.name.rsplit("-", 1)[-1]
        return pid.isdigit() and not pid_alive(int(pid))
    return not owner_alive(int(found["pid"]), found["start"])


def _head(state: Path) -> int:
    """The state's newest version (0: none yet)."""
    try:
        return (Store(state).versions() or [0])[-1]
    except OSError:
        return 0


def _committed(state: Path, night: str, base: int) -> bool:
    """Whether the run that held the state's lock from version ``base`` on committed ``night`` (see _TMP)."""
    store = Store(state)
    return base + 1 in store.versions() and store.manifest(base + 1).night == night


def _settle(tmp: Path, state: Path, base: int, final: Path) -> bool:
    """Publish ``tmp`` as ``final`` if its run committed the night, else delete it; True if published."""
    try:
        if tmp.is_dir() and _committed(state, final.name, base):
            for partial in tmp.glob("*.partial"):   # timings.json's, its run killed while writing it
                partial.unlink()
            _publish(tmp, final)
            return True
    except (DedupError, OSError):   # the state cannot tell, or a rename failed: left to the next run's _recover
        return False
    shutil.rmtree(tmp, ignore_errors=True)
    return False


def _recover(out_root: Path, state: Path) -> list[str]:
    """Settle the output folders of runs that were killed (their process is gone); the nights published.

    A temporary folder whose run committed its night is published (it lacks only ``timings.json``,
    written after the commit); the others are deleted. Then a folder ``_publish`` had moved aside
    (``.NIGHT.old-PID-START``, see :func:`_owner`) is put back if ``OUT/NIGHT`` is missing still, else
    deleted. Called under the state's lock.
    """
    published = []
    for path in sorted(out_root.glob(".*.tmp-*")):
        found = _TMP.fullmatch(path.name)
        if not _gone(path, found):
            continue
        if found is None:   # a name of an older nightly.py: its run cannot be told from the state
            shutil.rmtree(path, ignore_errors=True)
        elif _settle(path, state, int(found["base"]), out_root / found["night"]):
            published.append(found["night"])
    for path in sorted(out_root.glob(".*.old-*")):
        found = _OLD.fullmatch(path.name)
        if not _gone(path, found):
            continue
        if found is not None and not (out_root / found["night"]).exists():
            os.rename(path, out_root / found["night"])
            published.append(found["night"])
        else:
            shutil.rmtree(path, ignore_errors=True)
    return published


def _publish(tmp: Path, final: Path) -> None:
    """Replace ``final`` by ``tmp`` (two renames; ``final`` is never half-written; killed between
    them, the next run's ``_recover`` publishes ``tmp``, or puts ``final`` back)."""
    old = final.with_name(f".{final.name}.old-{_owner()}")
    if final.exists():
        os.rename(final, old)
    os.rename(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def default_night(now: datetime | None = None) -> str:
    """Yesterday in the machine's time zone (``TZ``) at ``now`` (default: the clock), as YYYY-MM-DD."""
    local = (now or datetime.now()).astimezone()   # an aware time converted, a naive one taken as local
    return (local.date() - timedelta(days=1)).isoformat()


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    night = args.night or default_night()
    try:   # YYYY-MM-DD only: the night names the output folder, the log and {night} in the inputs, as the
        # state names it (Python 3.11 also takes 20260101, which would name them otherwise)
        if date.fromisoformat(night).isoformat() != night:
            raise ValueError(night)
    except ValueError:
        print(f"nightly: error: --night {night!r}: expected YYYY-MM-DD", file=sys.stderr)
        return 2
    if args.alert_rejects is not None and not 0 <= args.alert_rejects <= 1:
        print(f"nightly: error: --alert-rejects {args.alert_rejects}: expected a fraction between 0 and 1",
              file=sys.stderr)
        return 2
    try:
        state, out_root = local_folder("--state", args.state), local_folder("--out", args.out)
    except ConfigError as exc:
        print(f"nightly: error: {exc}", file=sys.stderr)
        return 2
    try:
        log = _logger(out_root / "logs" / f"{night}.log", args.quiet)
    except OSError as exc:   # --out a file (a bad parameter), or not writable: no log to write to
        print(f"nightly: error: cannot write the log in {out_root / 'logs'}: {exc.strerror or exc}", file=sys.stderr)
        return 2 if out_root.exists() and not out_root.is_dir() else EXIT_CANNOT_WRITE
    with sigterm_interrupts():   # a scheduler's stop ends the night as Ctrl-C does, its cleanup done
        code = _night(args, night, state, out_root, log)
    failure = next((h.failure for h in log.handlers if isinstance(h, _LogFile) and h.failure), None)
    if failure is not None:   # also with --quiet: the log holds no reason, and a night without its log is an alert
        print(f"nightly: error: cannot write the log {out_root / 'logs' / f'{night}.log'}: "
              f"{failure.strerror or failure}", file=sys.stderr)
        if code in (0, EXIT_TOO_MANY_REJECTS):   # for the log's file, should it take a line again: stderr has it
            log.error("cannot write the log: %s", failure.strerror or failure, extra={"file_only": True})
            code = EXIT_CANNOT_WRITE
    log.info("end night %s: exit %d", night, code)
    return code


def _night(args: argparse.Namespace, night: str, state: Path, out_root: Path, log: logging.Logger) -> int:
    """Run the night, logging it into ``log``; the exit code (the log's ``end night`` line is the caller's)."""
    inputs = [p.replace("{night}", night) for p in args.inputs]
    log.info("start night %s: dedup %s, inputs %s, state %s, window %s, retention %s, pid %d",
             night, __version__, " ".join(inputs), state, args.window, args.retention, os.getpid())
    try:
        config = Config.from_toml(args.config) if args.config is not None else Config()
        make_state_folder(state)
        # The run takes the lock again inside (it shares this one): until the outputs are published or
        # settled, no other run can commit, so the version this run commits, if any, is base + 1. The
        # folders of killed runs are settled under it too: the versions they are judged by cannot move.
        with StateLock(state, command="nightly.py") as lock:
            if lock.takeover:
                log.info("took over a stale lock of pid %s", lock.takeover.get("pid"))
            for done in _recover(out_root, state):
                log.info("recovered the outputs of night %s from a run that was killed", done)
            base = _head(state)
            tmp = out_root / f".{night}.tmp-v{base}-{_owner()}"
            try:
                # bars on a terminal only, as dedup cluster draws them: never into the log file or cron's mail
                result = run(inputs, tmp, config=config, log=lambda msg: log.info("%s", msg.strip()),
                             state_dir=state, night=night, window=args.window, retention=args.retention,
                             progress=Progress(enabled=False if args.quiet else None))
                _publish(tmp, out_root / night)
            except BaseException:   # Ctrl-C too: the folder is this run's to settle
                if _settle(tmp, state, base, out_root / night):
                    log.info("the night was committed before the error: outputs in %s", out_root / night)
                raise
    except DedupError as exc:
        log.error("dedup: error: %s", exc)
        return exc.exit_code
    except Terminated:   # SIGTERM (dedup.signals): as Ctrl-C below, said apart
        log.error("terminated")
        return EXIT_TERMINATED
    except KeyboardInterrupt:   # the lock is released and the output folder settled on the way out
        log.error("interrupted")
        return EXIT_INTERRUPTED
    except Exception:  # noqa: BLE001 - a scheduler needs an exit code and a traceback in the log
        log.error("internal error:\n%s", traceback.format_exc())
        return EXIT_INTERNAL
    summary = result.summary
    articles, history = summary["articles"], summary["history"]
    log.info("articles: read %d, clustered %d, rejected %d %s", articles["read"], articles["clustered"],
             articles["rejected"], json.dumps(articles["rejected_by_reason"], sort_keys=True))
    log.info("history: %s stories; %d merged; %d prior articles in the window, %d loaded",
             json.dumps(history["stories"], sort_keys=True), len(history["merged"]),
             history["prior_in_window"], history["prior_loaded"])
    log.info("alignment: %d versions aligned, %d copied from earlier nights",
             history["versions_aligned"], history["versions_copied"])
    log.info("outputs in %s", out_root / night)
    code = 0
    if args.alert_rejects is not None and articles["read"] and \
            articles["rejected"] / articles["read"] > args.alert_rejects:
        log.warning("%d of %d records rejected, more than --alert-rejects %s", articles["rejected"],
                    articles["read"], args.alert_rejects)
        code = EXIT_TOO_MANY_REJECTS
    return code


if __name__ == "__main__":
    sys.exit(main())
