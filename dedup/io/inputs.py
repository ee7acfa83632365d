"""Input discovery: which files of the INPUTs are read, and which are passed over and why.

:func:`find_inputs` expands files and folders (recursively) into the sorted
list of files to read; it leaves out hidden entries, this run's own output
folder, any other dedup output or nightly state below an input (outputs are
never read back as input), and says what it skipped. :func:`format_of` names
a file's format and compression from its name, :func:`archive_of` an archive's
kind; the readers (:mod:`dedup.io.readers`) parse them, archives through
:mod:`dedup.io.archives`, which reads their members by these rules.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Protocol

from dedup.errors import InputError
from dedup.io.streams import COMPRESSION_SUFFIXES, display_path

__all__ = ["ARCHIVES", "OUTPUT_FILES", "OUTPUT_TABLES", "SUFFIXES", "SUPPORTED", "Found", "Holdings", "archive_of",
           "find_inputs", "format_of", "is_output_folder", "is_state_folder", "no_readable_files", "not_entered",
           "state_input", "supported"]

#: File-name extension -> format.
SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet",
            ".txt": "text", ".md": "text", ".html": "html", ".htm": "html", ".xhtml": "html", ".warc": "warc"}


def format_of(path: Path) -> tuple[str | None, str | None]:
    """(format, compression) from the file name; format None if unsupported."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = COMPRESSION_SUFFIXES.get(suffixes[-1]) if suffixes else None
    if compression:
        suffixes = suffixes[:-1]
    return SUFFIXES.get(suffixes[-1] if suffixes else ""), compression


#: Archive file-name extensions -> archive kind; a ``.tar`` may also be compressed (``.tar.gz``...).
ARCHIVES = {".zip": "zip", ".tar": "tar", ".tgz": "tar"}


def archive_of(path: PurePath) -> str | None:
    """``"zip"`` or ``"tar"`` if the file name is an archive's (:mod:`dedup.io.archives`), else None."""
    suffixes = [s.lower() for s in path.suffixes]
    if len(suffixes) > 1 and suffixes[-2] == ".tar" and suffixes[-1] in COMPRESSION_SUFFIXES:
        return "tar"
    return ARCHIVES.get(suffixes[-1]) if suffixes else None


@dataclass
class Found:
    """What :func:`find_inputs` found: the files to read and what it passed over, with why."""

    files: list[Path] = field(default_factory=list)        # sorted
    skipped: list[tuple[Path, str]] = field(default_factory=list)     # (path, summary entry), not input
    unreadable: list[tuple[Path, str]] = field(default_factory=list)  # (path, message): unreadable_file rejects
    outputs: list[Path] = field(default_factory=list)   # inputs that are a dedup run's output folder


#: A folder holding these is the output of a dedup run (``summary.json`` names its ``dedup_version``).
_OUTPUT_MARKS = ("summary.json", "clusters.parquet")


#: The tables a dedup run writes, each as NAME.parquet (and NAME.csv, NAME.json with --format).
OUTPUT_TABLES = ("clusters", "sentences", "links")

#: The files a dedup run writes in its output folder (a Spark run's tables are folders of these names).
OUTPUT_FILES = frozenset({f"{table}.{fmt}" for table in OUTPUT_TABLES for fmt in ("parquet", "csv", "json")}
                         | {"summary.json", "rejected.jsonl", "timings.json", "report.html"})


class Holdings(Protocol):
    """What a folder holds, as the decisions below need it: on disk (:class:`_OnDisk`) or as listed
    by another file system (the Spark engine lists ``hdfs://``... folders with Hadoop's)."""

    def kind(self, name: str) -> str | None:
        """The entry ``name``: ``"file"``, ``"folder"``, ``"other"`` (a pipe...) or None (no such entry)."""

    def read(self, name: str) -> bytes:
        """The bytes of the file ``name`` (an OSError if they cannot be read)."""


@dataclass
class _OnDisk:
    """A local folder's holdings (symbolic links followed)."""

    folder: Path

    def kind(self, name: str) -> str | None:
        path = self.folder / name
        return ("file" if path.is_file() else "folder" if path.is_dir() else "other" if path.exists() else None)

    def read(self, name: str) -> bytes:
        with open(self.folder / name, "rb") as fh:
            return fh.read()


def is_state_folder(folder: Holdings) -> bool:
    """A nightly state (dedup.state.Store: its ``_manifests`` folder): its tables are not input."""
    return folder.kind("_manifests") == "folder"


def is_output_folder(folder: Holdings) -> bool:
    """The output of a dedup run: it holds ``summary.json``, naming its ``dedup_version``, and ``clusters.parquet``."""
    try:   # the key sorts after "alignment", whose failures can be long: the whole file is read
        return (folder.kind(_OUTPUT_MARKS[0]) == "file" and folder.kind(_OUTPUT_MARKS[1]) is not None
                and b'"dedup_version"' in folder.read(_OUTPUT_MARKS[0]))
    except OSError:
        return False


def not_entered(folder: Holdings, own: bool) -> str | None:
    """Why a folder below an input is not walked (None: it is): ``own``, the run's own output folder;
    the output of another run; a nightly state."""
    if own:
        return "the output folder of this run"
    if is_output_folder(folder):
        return "the output of a dedup run"
    if is_state_folder(folder):
        return "a dedup state"
    return None


def state_input(item: str | Path) -> InputError:
    """The error for an input that is a nightly state's folder."""
    return InputError(f"input {display_path(item)} is a dedup state folder, not articles; give it as --state")


def _not_a_file(path: Path) -> str:
    """Why an entry that is neither a folder nor a readable file is not read."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        try:
            return f"broken symbolic link (to {display_path(os.readlink(path))})"
        except OSError:
            return "vanished while the folder was listed"
    except OSError as exc:
        return f"cannot read file: {exc.strerror or exc}"
    kind = ("a named pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a file")
    return f"not a regular file ({kind}); not read"


def find_inputs(inputs: list[str | Path], *, out: str | Path | None = None) -> Found:
    """Expand files and folders (recursively) into a sorted list of files, and say what was passed over.

    Hidden files and folders (starting with ``.``) are skipped silently.
    Listed in ``skipped`` (``summary.json``'s ``skipped_files``): files with
    an unsupported extension inside a folder (named explicitly, they are read
    and fail), as their path; and folders not entered, as ``path/ (why)``: the
    run's own output folder ``out``, any other folder holding a dedup run's
    ``summary.json`` and ``clusters.parquet`` (outputs are not input), a
    nightly state's folder, and symbolic links to folders (not followed); and
    a run's output files in an input folder that holds them, as ``path (why)``; and a file reached under a
    second name (a folder and a path into it, a link), read once. Listed in ``unreadable``
    (``unreadable_file`` rejects): folders that cannot be listed, and entries
    with a supported extension that are not readable files (a broken symbolic
    link, a named pipe); without one, such entries are skipped.
    """
    found = Found()
    files: set[Path] = set()
    mine = None
    if out is not None:
        try:
            st = os.stat(out)
            mine = (st.st_dev, st.st_ino)
        except OSError:
            pass  # not made yet: nothing of this run to skip

    def skip_folder(path: Path, why: str) -> None:
        found.skipped.append((path, f"{display_path(path)}/ ({why})"))

    def listed(folder: Path, top: bool = False) -> Iterator[tuple[Path, os.DirEntry, bool]] | None:
        """The entries of ``folder`` to decide on, as (path, entry, in an output folder); None if it cannot be
        listed (an ``unreadable`` entry)."""
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as exc:
            message = f"cannot list folder: {exc.strerror or exc}; the files in it are not read"
            found.unreadable.append((folder, message))
            return None
        # An input folder that a run wrote its outputs into (--out beside an input file): its own files
        # are read, the run's outputs are not (a folder below an input holding them is not entered).
        outputs = top and is_output_folder(_OnDisk(folder))
        if outputs:
            found.outputs.append(folder)
        return ((folder / entry.name, entry, outputs) for entry in entries if not entry.name.startswith("."))

    def decide(path: Path, entry: os.DirEntry, outputs: bool) -> bool:
        """Record what becomes of one entry; True if it is a folder to walk."""
        if outputs and entry.name in OUTPUT_FILES:
            found.skipped.append((path, f"{display_path(path)} (the output of a dedup run)"))
            return False
        try:
            if entry.is_dir(follow_symlinks=False):
                st = entry.stat(follow_symlinks=False)
                why = not_entered(_OnDisk(path), mine == (st.st_dev, st.st_ino))
                if why:
                    skip_folder(path, why)
                return not why
            if entry.is_file():
                files.add(path)
                return False
            if entry.is_dir():
                skip_folder(path, "symbolic link to a folder, not followed")
                return False
        except OSError:
            pass
        if supported(path):
            found.unreadable.append((path, _not_a_file(path)))
        else:
            found.skipped.append((path, display_path(path)))
        return False

    def walk(top: Path) -> None:
        # Depth first with a stack of listings, not recursion: a crawler trap's thousand nested folders
        # (site/a/a/a/...) would pass Python's recursion limit. A folder's entries are decided where it
        # stands among its siblings', in the order recursion took.
        stack = [listing] if (listing := listed(top, top=True)) is not None else []
        while stack:
            entry = next(stack[-1], None)
            if entry is None:
                stack.pop()
            elif decide(*entry) and (listing := listed(entry[0])) is not None:
                stack.append(listing)

    for item in inputs:
        path = Path(item)
        if path.is_dir() and is_state_folder(_OnDisk(path)):
            raise state_input(item)
        if path.is_dir():
            walk(path)
        elif path.is_file():
            files.add(path)
        elif os.path.exists(path) or (os.path.lexists(path) and not os.path.islink(path)):   # not a broken link
            raise InputError(f"input {display_path(item)} is not a file or a folder ({_not_a_file(path)})")
        else:
            raise InputError(f"input {display_path(item)} does not exist")
    # One file under two names (a folder and a path into it, absolute and relative, a symbolic or hard
    # link): read once, under its first name in order; every record would otherwise be read again and
    # rejected as a duplicate id, and counted twice in "read".
    first: dict[tuple[int, int], Path] = {}
    for path in sorted(files):
        try:
            st = path.stat()
        except OSError:
            found.files.append(path)   # its reader says why it cannot be read
            continue
        same = first.setdefault((st.st_dev, st.st_ino), path)
        if same is path:
            found.files.append(path)
        else:
            found.skipped.append((path, f"{display_path(path)} (the same file as {display_path(same)})"))
    return found


#: The supported file names, as the error for a run that found none lists them.
SUPPORTED = (f"{' '.join(sorted(SUFFIXES))}, optionally .gz/.bz2/.xz/.zst; archives of them: "
             f"{' '.join(sorted(ARCHIVES))} .tar.gz .tar.bz2 .tar.xz .tar.zst")


def no_readable_files(inputs: list[str], outputs: list[str], unreadable: list[tuple[str, str]]) -> InputError:
    """The error for inputs in which no file can be read. ``outputs``: inputs that are themselves the output
    folder of a dedup run, whose outputs are never read as articles (the likely mistake, so it is said
    first); ``unreadable``: (name, why) of files and folders that could not be read."""
    if outputs:
        which = "is the output folder of a dedup run (it holds" if len(outputs) == 1 else \
            "are output folders of dedup runs (they hold"
        return InputError(f"{', '.join(outputs)} {which} no article texts): pass the run's input files or folders")
    unread = "".join(f"; {name}: {message}" for name, message in unreadable[:1])
    return InputError(f"no readable input files in {', '.join(inputs)} (supported: {SUPPORTED}){unread}")


def supported(path: PurePath) -> bool:
    """Whether the file name is one dedup reads: a format of :data:`SUFFIXES` (maybe compressed) or an archive."""
    return format_of(path)[0] is not None or archive_of(path) is not None
