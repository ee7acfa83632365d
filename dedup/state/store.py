"""The state folder on disk: immutable Parquet files named by a versioned manifest.

Layout::

    STATE/
      _manifests/000007.json                  one per committed version (a few hundred bytes)
      articles/night=2026-11-27/v000007.parquet
      assignments/night=2026-11-27/v000007.parquet
      story_merges/night=2026-11-27/v000007.parquet
      sentences/night=2026-11-27/v000007.parquet
      furniture/night=2026-11-27/v000007.parquet
      lock                                    while a run holds the state (see dedup.state.lock)

Every table is one Parquet file per night. A file is never modified after it
is written: a run writes its files under its own version number, and then
**commits** by writing ``_manifests/NNNNNN.json`` — to a temporary name, fsync,
then ``os.replace`` — which names, for every table and night, the file that is
current. The highest-numbered manifest is the state. A run killed at any point
before that rename leaves files no manifest names: they are invisible to
readers and deleted by the next run (:meth:`Store.clean_orphans`). The
previous versions stay readable (``read_table(..., version=6)``) until
:meth:`Store.vacuum` drops them (the newest ``keep_versions`` are kept, and
the base of the newest, which a rerun of its night needs).

Why not Delta Lake: a night's commit spans five tables, and a Delta commit
is atomic per table only, so a kill between two table commits would leave
the tables disagreeing, and a top-level manifest would still be needed; see
``benchmarks/README.md`` for the measurements. A Spark job reads the
state by listing the files of the newest manifest
(``spark.read.parquet(*files)``), or through :func:`dedup.state.read_table`.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import polars as pl

from dedup.errors import OutputError
from dedup.io.writers import ROW_GROUP_ROWS
from dedup.schema import SENTENCES, UTC_TIME
from dedup.state.errors import StateError

FORMAT = 2   # bump when a table's columns or the manifest change incompatibly
# Older formats this one reads as they are. Format 1 had no ``sentences`` table: it reads as a state
# with no stored alignments (the next night aligns every version, as format 1 did, and writes format 2).
READABLE_FORMATS = (1, FORMAT)
# Rows per Parquet row group, by table (default: the outputs' ``ROW_GROUP_ROWS``). An ``articles`` row
# carries a text, a shingle list and 64 band keys (~4 KB): in groups of 128Ki rows a night's file was one
# group, which polars decodes on few threads; in groups of 8Ki a night reads the window's band keys and
# its prior articles about twice as fast (benchmarks/HISTORY.md section 6, session 13), for 0.7% more bytes.
TABLE_ROW_GROUP_ROWS = {"articles": 8 * 1024}

TABLES: dict[str, pl.Schema] = {
    # Every article stored, one row per article per night it was read. Text,
    # shingles and bands are null once the night is past the retention.
    "articles": pl.Schema({
        "article_id": pl.String,
        "outlet": pl.String,
        "title": pl.String,
        "text": pl.String,
        "published": UTC_TIME,
        "url": pl.String,
        "night": pl.Date,               # the night the row was read
        "first_seen_night": pl.Date,    # the first night this article id was read
        "n_tokens": pl.UInt32,
        "n_boilerplate": pl.UInt32,
        "shingles": pl.List(pl.UInt32),  # after the outlet's boilerplate was removed on its night
        "bands": pl.List(pl.UInt64),     # one LSH band key per band; null when too short to compare
    }),
    # The cluster history: which story each article belonged to, per night.
    "assignments": pl.Schema({
        "night": pl.Date,
        "article_id": pl.String,
        "outlet": pl.String,
        "published": UTC_TIME,
        "story_id": pl.String,
        "canonical_id": pl.String,
        "story_first_night": pl.Date,   # the night the story id was first given
        "story_status": pl.String,      # new | grew | updated | unchanged | split, that night
    }),
    # A new article bridged two stories: merged_id is retired into into_id.
    "story_merges": pl.Schema({
        "night": pl.Date,
        "merged_id": pl.String,
        "into_id": pl.String,
    }),
    # Each night's output SENTENCES rows (sentences.parquet of that night), with the canonical they
    # were aligned against: a later night copies a version's rows while its canonical is the same
    # (see dedup.align.reuse). Dropped with the texts after the retention.
    "sentences": pl.Schema({
        **SENTENCES,
        "night": pl.Date,
        "canonical_id": pl.String,      # the canonical article of the version's story that night
        "fingerprint": pl.String,       # Config.fingerprint() of that night's run (alignment settings included)
    }),
    # The furniture each night found (dedup.align.AlignResult.found_furniture): an outlet's line it printed
    # in furniture_min_stories stories or more, outlet null for a stock line. A later night takes those of
    # its window as furniture too. Dropped after the retention.
    "furniture": pl.Schema({
        "night": pl.Date,
        "outlet": pl.String,
        "key": pl.String,               # the line's identity key (dedup.align.core.identity_key)
    }),
}

_MANIFESTS = "_manifests"
_PARQUET_MIN_BYTES = 12   # the smallest Parquet file: its magic number at both ends and its footer's length
_MANIFEST_RE = re.compile(r"^(\d{6,})\.json$")


def checkpoint(name: str) -> None:
    """A named point of a run, where a test can kill the process to prove the state survives.

    When the environment variable ``DEDUP_STATE_KILL_AT`` equals ``name``, the
    process kills itself with SIGKILL (as ``kill -9`` would); otherwise this
    does nothing. Points, in run order: ``read``, ``clustered``,
    ``outputs_written``, ``articles_written`` (the first new table file is
    written), ``files_written``, ``manifest_written`` (the new manifest is
    written under a temporary name, not yet renamed), ``committed``, ``vacuumed``.
    ``DEDUP_STATE_KILL_SIGNAL=TERM`` sends SIGTERM instead (a scheduler's stop, see :mod:`dedup.signals`).
    """
    if os.environ.get("DEDUP_STATE_KILL_AT") == name:
        os.kill(os.getpid(), getattr(signal, f"SIG{os.environ.get('DEDUP_STATE_KILL_SIGNAL', 'KILL')}"))


@dataclass
class Manifest:
    """One committed version of the state."""

    version: int
    parent: int | None                   # the version this one was built on
    night: str | None                    # ISO date of the night this version added
    fingerprint: str
    parameters: dict[str, Any]           # the settings the fingerprint covers
    dedup_version: str
    format: int = FORMAT
    tables: dict[str, dict[str, str]] = field(default_factory=lambda: {t: {} for t in TABLES})
    counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str, state: Path) -> "Manifest":
        """The manifest in ``text`` (read from ``where``, of the state folder ``state``). Its format is
        checked first: a newer format may have fields this version does not know."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise _not_a_manifest(where, exc) from None
        if not isinstance(data, dict):
            raise _not_a_manifest(where, "not a JSON object")
        if data.get("format", FORMAT) not in READABLE_FORMATS:
            raise StateError(
                f"state {state} has format {data['format']} (written by dedup {data.get('dedup_version')}); "
                f"this dedup reads format {' and '.join(map(str, READABLE_FORMATS))}; "
                "use the dedup version that wrote it, or start a new state folder")
        try:
            return cls(**data)
        except TypeError as exc:
            raise _not_a_manifest(where, exc) from None


def _not_a_manifest(where: str, why: object) -> StateError:
    return StateError(f"{where} is not a dedup state manifest ({why}); was this folder written by another program?")


# How polars' Parquet writer reports a failed write: "... underlying IO error: No space left on device (os error 28)";
# or, when the write of the file's footer fails, "parquet: File out of specification: Invalid thrift: transport
# error", which has lost the OS error (polars 2.1 on a full disk).
_OS_ERROR = re.compile(r"\(os error (\d+)\)")
_FOOTER_WRITE = "transport error"


@contextmanager
def writing_state(root: Path) -> Iterator[None]:
    """A failed write into the state folder ``root`` (a full disk, a read-only file system, no permission)
    is an :class:`~dedup.errors.OutputError`, exit code 8 as the outputs', one line: not an internal error.
    polars reports its own writes' failures as a ComputeError naming the OS error, or the failed write of
    a file's footer without it (then a full disk is named if ``root``'s file system has no space left)."""
    try:
        yield
    except OSError as exc:
        raise OutputError(f"cannot write the state in {root}: {exc.strerror or exc}") from None
    except pl.exceptions.ComputeError as exc:
        found = _OS_ERROR.search(str(exc))
        if found is not None:
            reason = os.strerror(int(found[1]))
        elif _FOOTER_WRITE in str(exc):
            reason = os.strerror(errno.ENOSPC) if _full(root) else f"a Parquet file's write failed ({exc})"
        else:
            raise
        raise OutputError(f"cannot write the state in {root}: {reason}") from None


def _full(root: Path) -> bool:
    """Whether the file system of ``root`` (or of its nearest existing parent) has no space left."""
    path = root
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        fs = os.statvfs(path)
    except OSError:
        return False
    return fs.f_bavail == 0 or fs.f_bfree == 0


#: What polars raises reading a Parquet file damaged in the middle: an error ("parquet: File out of specification:
#: zstd error: Data corruption detected", naming no file), or on some bytes a panic of its reader.
READ_ERRORS = (pl.exceptions.PolarsError, pl.exceptions.PanicException)
_DAMAGED = "cannot be read"


@contextmanager
def reading_state(store: Store, manifests: Callable[[], Iterable[Manifest | None]]) -> Iterator[None]:
    """A state file complete in size (:meth:`Store.check_files` passed it on open) that cannot be read, its
    bytes overwritten, is the state's refusal (:class:`StateError`, exit 5) naming the file and the way back,
    not polars' error, which names no file: once a read in the block failed, the files of ``manifests()``
    (the run's newest version and the one it builds on) are read whole to find it. Only then: a night does
    not read every stored file twice. A failure no state file explains is raised as it was."""
    try:
        yield
    except READ_ERRORS:
        try:
            for manifest in manifests():
                store.check_files(manifest, read=True)
        except StateError as exc:
            raise exc from None
        raise


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durably(path: Path, write: Callable[[Path], None]) -> None:
    """Write through ``write(tmp)``, fsync, and rename to ``path`` (never half a file under ``path``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    write(tmp)
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class Store:
    """Versioned tables in a folder; see the module docstring. Not thread-safe: hold the lock."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    # -- versions -------------------------------------------------------------------------
    def versions(self) -> list[int]:
        folder = self.root / _MANIFESTS
        if not folder.is_dir():
            return []
        return sorted(int(m.group(1)) for p in folder.iterdir() if (m := _MANIFEST_RE.match(p.name)))

    def _manifest_path(self, version: int) -> Path:
        return self.root / _MANIFESTS / f"{version:06d}.json"

    def manifest(self, version: int | None = None) -> Manifest | None:
        """The manifest of ``version`` (default: the newest), or None for an empty state."""
        if version is None:
            versions = self.versions()
            if not versions:
                return None
            version = versions[-1]
        path = self._manifest_path(version)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise StateError(f"state {self.root} has no version {version} "
                             f"(versions kept: {', '.join(map(str, self.versions())) or 'none'})") from None
        return Manifest.from_json(text, str(path), self.root)

    # -- writing ----------------------------------------------------------------------------
    def write_file(self, table: str, night: str, version: int, frame: pl.DataFrame, *, tag: str = "") -> str:
        """Write one immutable table file and return its path relative to the state folder."""
        rel = f"{table}/night={night}/v{version:06d}{tag}.parquet"
        frame = frame.select([pl.col(n).cast(t) for n, t in TABLES[table].items()])
        group = TABLE_ROW_GROUP_ROWS.get(table, ROW_GROUP_ROWS)
        with writing_state(self.root):
            _write_durably(self.root / rel, lambda tmp: frame.write_parquet(tmp, compression="zstd", statistics=True,
                                                                             row_group_size=group))
        return rel

    def commit(self, manifest: Manifest) -> None:
        """Publish ``manifest``: after this the state is the new version, before it the old one."""
        path = self._manifest_path(manifest.version)
        if path.exists():
            raise StateError(f"state version {manifest.version} already exists; another writer ignored the lock")
        text = manifest.to_json()
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        with writing_state(self.root):
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(text, encoding="utf-8")
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            checkpoint("manifest_written")
            os.replace(tmp, path)
            _fsync_dir(path.parent)

    # -- cleaning -------------------------------------------------------------------------
    def _referenced(self, versions: list[int]) -> set[str]:
        keep: set[str] = set()
        for v in versions:
            m = self.manifest(v)
            for files in m.tables.values():
                keep.update(files.values())
        return keep

    def clean_orphans(self) -> int:
        """Delete table files and temporary files that no manifest names (a killed run's). Returns how many."""
        keep = self._referenced(self.versions())
        removed = 0
        for table in TABLES:
            folder = self.root / table
            if not folder.is_dir():
                continue
            for path in sorted(folder.rglob("*")):
                if path.is_file() and path.relative_to(self.root).as_posix() not in keep:
                    path.unlink()
                    removed += 1
            for sub in sorted(folder.iterdir()):
                if sub.is_dir() and not any(sub.iterdir()):
                    sub.rmdir()
        folder = self.root / _MANIFESTS
        if folder.is_dir():
            for path in folder.iterdir():
                if path.name.startswith("."):
                    path.unlink()
                    removed += 1
        return removed

    def vacuum(self, keep_versions: int) -> int:
        """Drop manifests older than the newest ``keep_versions`` (but never the newest's
        base), then the files no remaining manifest names. Returns the files deleted."""
        versions = self.versions()
        if not versions:
            return 0
        keep = set(versions[-keep_versions:])
        head = self.manifest(versions[-1])
        if head.parent is not None:
            keep.add(head.parent)
        for v in versions:
            if v not in keep:
                self._manifest_path(v).unlink()
        return self.clean_orphans()

    # -- checking -------------------------------------------------------------------------
    def check_files(self, manifest: Manifest | None, *, read: bool = False) -> Manifest | None:
        """``manifest`` (None: no version yet), refused (:class:`StateError`) if a table file it names is
        missing or too short to be Parquet: a copy or backup of the state taken while a run committed holds
        the new manifest without all of its files. Only each file's size is looked at (no file is read); the
        message names the file and says how to go back to the previous version, if that one is complete.
        With ``read``, every file is also read whole, and one that cannot be (bytes overwritten) is refused
        the same way, as damaged: what :func:`reading_state` does once a read of the state failed."""
        broken = [] if manifest is None else self._broken(manifest, read)
        if not broken:
            return manifest
        rel, why = broken[0]
        more = f" (and {len(broken) - 1} more file(s))" if len(broken) > 1 else ""
        earlier = [v for v in self.versions() if v < manifest.version]
        if earlier and not self._broken(self._readable(earlier[-1]), read):
            advice = (f"version {earlier[-1]} is complete: remove {self._manifest_path(manifest.version)} to go "
                      f"back to it, then run night {manifest.night} again")
        else:
            advice = "no earlier version is complete: restore the state folder from a complete backup"
        if why.startswith(_DAMAGED):
            raise StateError(f"state {self.root}: version {manifest.version} is damaged, its file {rel} {why}{more}; "
                             f"{advice}")
        raise StateError(f"state {self.root}: version {manifest.version} is incomplete, its file {rel} {why}{more} "
                         f"(a copy or backup taken while a run committed?); {advice}")

    def _readable(self, version: int) -> Manifest | None:
        try:
            return self.manifest(version)
        except StateError:
            return None

    def _broken(self, manifest: Manifest | None, read: bool = False) -> list[tuple[str, str]]:
        """The files ``manifest`` names that are missing or too short to be Parquet, and with ``read`` those
        that cannot be read whole, each with why (all of them for a manifest that could not be read)."""
        if manifest is None:
            return [("", "is not readable")]
        broken = []
        for files in manifest.tables.values():
            for rel in sorted(files.values()):
                try:
                    size = (self.root / rel).stat().st_size
                except FileNotFoundError:
                    broken.append((rel, "is missing"))
                    continue
                if size < _PARQUET_MIN_BYTES:
                    broken.append((rel, "is empty" if size == 0 else f"is cut short at {size} bytes"))
                elif read and (failure := self._unreadable(rel)):
                    broken.append((rel, f"{_DAMAGED} ({failure})"))
        return broken

    def _unreadable(self, rel: str) -> str | None:
        """Why the table file ``rel`` cannot be read whole, or None. Every value is decoded, a row group at a
        time (the streaming engine: a night's articles file is not held whole)."""
        try:
            (pl.scan_parquet(self.root / rel, glob=False).select(pl.all().is_null().sum())
             .collect(engine="streaming"))
        except READ_ERRORS as exc:
            lines = str(exc).strip().splitlines()
            return lines[0] if isinstance(exc, pl.exceptions.PolarsError) and lines else "its reader failed"
        return None

    # -- reading --------------------------------------------------------------------------
    def scan(self, manifest: Manifest | None, table: str, nights: Callable[[str], bool] | None = None
             ) -> pl.LazyFrame:
        """The table as of ``manifest`` (only the nights for which ``nights(iso_date)`` is true)."""
        schema = TABLES[table]
        files = [] if manifest is None else [
            str(self.root / rel) for night, rel in sorted(manifest.tables.get(table, {}).items())
            if nights is None or nights(night)]
        if not files:
            return pl.LazyFrame(schema=schema)
        return pl.scan_parquet(files, hive_partitioning=False, schema=schema, glob=False)   # "state[1]" is a name
