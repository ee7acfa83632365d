"""Finding a Spark run's input files behind URIs (``hdfs://``, ``s3a://``, ``file://``...), by the local
engine's rules (:func:`dedup.io.inputs.find_inputs`): hidden entries, output and state folders and
unsupported files are skipped; in a ``file:`` folder, links to folders are not followed and what is not a
regular file is an ``unreadable_file`` reject, as on disk. Listed on the driver with Hadoop's FileSystem
API; :func:`dedup.spark.read.read_stage` then fetches exactly these files."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from py4j.protocol import Py4JJavaError
from pyspark.sql import SparkSession

from dedup.errors import InputError
from dedup.io import file_path
from dedup.io.inputs import (
    OUTPUT_FILES,
    _not_a_file,
    is_output_folder,
    is_state_folder,
    not_entered,
    state_input,
    supported,
)
from dedup.io.streams import display_path

#: Why a file whose name is not valid UTF-8 in a ``file:`` folder is not read (Java cannot name it to open it).
UNDECODABLE = "cannot read file: its name is not valid UTF-8, which Spark cannot open; give its folder as a local path"
UNDECODABLE_FOLDER = ("cannot list folder: its name is not valid UTF-8, which Spark cannot open; the files in it are "
                      "not read; give it as a local path")


def _utf8(name: str) -> bool:
    """Whether a name from ``os.listdir`` was valid UTF-8 (an invalid byte is a lone surrogate in it)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def path_order(name: str) -> list[str]:
    """The local engine's file order (it sorts Paths: part by part, ``x/a/b.jsonl`` before ``x/a-c.jsonl``)."""
    return name.split("/")


def _java_message(exc: Py4JJavaError) -> str:
    return str(exc.java_exception.getMessage() or exc.java_exception.getClass().getName())


class _Listed:
    """A folder as Hadoop's FileSystem lists it, for the decisions of :mod:`dedup.io.inputs`
    (a :class:`~dedup.io.inputs.Holdings`). Listing it raises a Py4JJavaError if it cannot be."""

    def __init__(self, jvm: Any, fs: Any, path: Any):
        self.jvm, self.fs, self.name = jvm, fs, path.toString()
        self.entries: dict[str, tuple[str, Any]] = {}    # entry name -> (kind, Hadoop path); kinds: _as_on_disk
        self.empty: set[str] = set()                      # the names of its files of 0 bytes
        self.local = _local_name(self.name)               # a file: folder's local path
        for status in fs.listStatus(path):
            entry = status.getPath()
            self.entries[entry.getName()] = ("folder" if status.isDirectory() else "file", entry)
            if not status.isDirectory() and status.getLen() == 0:
                self.empty.add(entry.getName())
        if self.local is not None:
            self._as_on_disk(jvm)

    def _as_on_disk(self, jvm: Any) -> None:
        """A file: folder's entries as :func:`dedup.io.inputs.find_inputs` tells them (Hadoop follows links to
        folders, lists a pipe as a file, leaves out a broken link): kinds "folder" and "file" (as Hadoop's listing
        of any folder says them), "link" (to a folder), "broken" (a broken link) and "other" (a pipe...)."""
        for name, (kind, entry) in self.entries.items():
            local = os.path.join(self.local, name)
            if kind == "folder" and os.path.islink(local):
                self.entries[name] = ("link", entry)
            elif kind == "file" and not os.path.isfile(local):
                self.entries[name] = ("other", entry)
        try:
            names = os.listdir(self.local)
        except OSError:
            return
        for name in names:   # a broken link (Hadoop lists what it can stat), as Hadoop would name it
            local = os.path.join(self.local, name)
            if name in self.entries:
                continue
            if not _utf8(name):   # Java names it with U+FFFD, a file Hadoop cannot stat: it lists nothing
                self.entries[name] = ("undecodable", None)
            elif os.path.islink(local) and not os.path.exists(local):
                self.entries[name] = ("broken", jvm.org.apache.hadoop.fs.Path("file", None, local))

    def kind(self, name: str) -> str | None:
        kind = self.entries[name][0] if name in self.entries else None
        return {"link": "folder", "broken": None}.get(kind, kind)   # as _OnDisk: links followed; broken, absent

    def read(self, name: str) -> bytes:
        try:
            stream = self.fs.open(self.entries[name][1])
            try:
                return bytes(self.jvm.org.apache.hadoop.io.IOUtils.readFullyToByteArray(stream))
            finally:
                stream.close()
        except Py4JJavaError as exc:
            raise OSError(f"cannot read {self.name}/{name}: {_java_message(exc)}") from None


@dataclass
class FoundUris:
    """What :func:`find_uris` found, as :class:`dedup.io.inputs.Found` says it for local paths (names are
    Hadoop's, ``file:/x/a.jsonl`` for ``file:///x/a.jsonl``, as Spark's ``binaryFile`` names them)."""

    files: list[tuple[str, bool]] = field(default_factory=list)   # (name, named explicitly), in read order
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, summary entry)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (name, message): unreadable_file rejects
    outputs: list[str] = field(default_factory=list)   # the inputs that are a dedup run's output folder
    empty: set[str] = field(default_factory=set)   # the names of files of 0 bytes (binaryFile skips them)


def find_uris(spark: SparkSession, uris: list[str], out: str | Path | None = None) -> FoundUris:
    """:func:`dedup.io.inputs.find_inputs` for URIs: the same rules, on Hadoop's listing of each input.

    Hidden entries (``.``) are left out; the run's own output folder ``out``
    (for ``file:`` URIs), other dedup outputs and nightly states below an input
    are not entered and are listed in ``skipped``; so are a top folder's own
    output files. Files starting with ``_`` are listed (Hadoop's input formats
    hide them). A ``file:`` URI names the path the local engine reads
    (:func:`dedup.io.file_path`, percent escapes decoded). A missing input is an
    :class:`InputError`; a folder that cannot be listed, an ``unreadable_file`` reject.
    """
    jvm, conf = spark._jvm, spark._jsc.hadoopConfiguration()
    found = FoundUris()
    files: dict[str, bool] = {}

    def own(name: str) -> bool:
        """Whether ``name`` is ``out``."""
        local = _local_name(name)
        try:
            return out is not None and local is not None and os.path.samefile(local, out)
        except OSError:
            return False

    def listed(fs: Any, path: Any) -> _Listed | None:
        try:
            return _Listed(jvm, fs, path)
        except Py4JJavaError as exc:
            message = f"cannot list folder: {_java_message(exc)}; the files in it are not read"
            found.unreadable.append((path.toString(), message))
            return None

    def walk(top: _Listed) -> None:
        # Depth first with a stack of listings, not recursion (as dedup.io.find_inputs): a crawler trap's
        # thousand nested folders would pass Python's recursion limit. Only the top folder's run outputs
        # are passed over.
        if outputs := is_output_folder(top):
            found.outputs.append(top.name)
        stack = [(top, iter(top.entries.items()), outputs)]
        while stack:
            folder, entries, outputs = stack[-1]
            if (item := next(entries, None)) is None:
                stack.pop()
                continue
            name, (kind, path) = item
            if name.startswith("."):
                continue
            if kind == "undecodable":   # never silently: a reject, as any file of the folder that cannot be read
                full = f"file:{display_path(Path(folder.local, name))}"
                if os.path.isdir(os.path.join(folder.local, name)):
                    found.unreadable.append((full, UNDECODABLE_FOLDER))
                elif supported(PurePosixPath(name)):
                    found.unreadable.append((full, UNDECODABLE))
                else:
                    found.skipped.append((full, full))
                continue
            full = path.toString()
            if outputs and name in OUTPUT_FILES:
                found.skipped.append((full, f"{full} (the output of a dedup run)"))
            elif kind == "file":
                files.setdefault(full, False)
                if name in folder.empty:
                    found.empty.add(full)
            elif kind == "link":
                found.skipped.append((full, f"{full}/ (symbolic link to a folder, not followed)"))
            elif kind in ("other", "broken"):
                if supported(PurePosixPath(name)):
                    found.unreadable.append((full, _not_a_file(Path(os.path.join(folder.local, name)))))
                else:
                    found.skipped.append((full, full))
            elif (child := listed(folder.fs, path)) is not None:
                why = not_entered(child, own(full))
                if why:
                    found.skipped.append((full, f"{full}/ ({why})"))
                else:
                    stack.append((child, iter(child.entries.items()), False))

    for uri in uris:
        try:
            # A file: URI names the file the local engine reads (dedup.io.file_path: percent escapes decoded);
            # Hadoop's Path(String) would take file:///x/e%20f.jsonl as a file named "e%20f.jsonl".
            local = file_path(uri)
            path = (jvm.org.apache.hadoop.fs.Path(uri) if local is None
                    else jvm.org.apache.hadoop.fs.Path("file", None, str(local)))
            fs = path.getFileSystem(conf)
            status = fs.getFileStatus(path)
        except Py4JJavaError as exc:
            if exc.java_exception.getClass().getName() == "java.io.FileNotFoundException":
                raise InputError(f"input {display_path(uri)} does not exist") from None
            raise InputError(f"input {display_path(uri)} cannot be read: {_java_message(exc)}") from None
        if local is not None and not status.isDirectory() and not local.is_file():   # a pipe: as find_inputs
            raise InputError(f"input {display_path(uri)} is not a file or a folder ({_not_a_file(local)})")
        if not status.isDirectory():
            files[status.getPath().toString()] = True   # named explicitly: read whatever its type
            if status.getLen() == 0:
                found.empty.add(status.getPath().toString())
        elif (folder := listed(fs, status.getPath())) is not None:
            if is_state_folder(folder):
                raise state_input(uri)
            walk(folder)
    found.files = sorted(files.items(), key=lambda item: path_order(item[0]))
    return found


def _local_name(name: str) -> str | None:
    """The local path of a file Hadoop lists as ``file:/x/a.jsonl`` (unescaped); None for other schemes."""
    return name[len("file:"):] if name.startswith("file:/") and not name.startswith("file://") else None


def read_once(paths: list[Path], names: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """``names`` (Hadoop's) without the ``file:`` files already read under another name: one of the local
    ``paths``, or an earlier name (a folder given as a path and as a URI, a link); and those left out, as
    ``skipped`` entries. :func:`dedup.io.inputs.find_inputs` reads a file once so among paths: its records
    would otherwise be read twice, each a duplicate_id reject."""
    first: dict[tuple[int, int], str] = {}
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            continue
        first.setdefault((st.st_dev, st.st_ino), display_path(path))
    kept, same = [], []
    for name in names:
        local = _local_name(name)
        try:
            st = os.stat(local) if local is not None else None
        except OSError:
            st = None
        other = name if st is None else first.setdefault((st.st_dev, st.st_ino), name)
        if other is name:
            kept.append(name)
        else:
            same.append((name, f"{name} (the same file as {other})"))
    return kept, same
