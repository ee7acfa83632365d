"""Archives (``.zip``, ``.tar``, ``.tar.gz``/``.tgz``, ``.tar.bz2``, ``.tar.xz``, ``.tar.zst``) read as folders.

An archive is read like a folder holding its members, by the folder walk's rules
(:func:`dedup.io.inputs.find_inputs`): hidden members are passed over silently,
unsupported ones and links are listed in ``skipped_files``, a device or a pipe with
a supported name is an ``unreadable_file`` reject. Each member read is copied
("spooled"), one at a time, to a file of a temporary folder that lives as long as
the archive is read, read there by the unchanged readers under the name
``ARCHIVE!/path/in/archive``, and deleted. So a member costs the disk of its
own size and, once read, no memory but its records: a zip's central directory
is the only listing held.

A zip's members are read in name order; a tar's in the archive's order, as a
stream (a ``.tar.gz`` is decompressed once, through :func:`dedup.io.streams.open_stream`
and its decompression-bomb guard). The outputs do not depend on that order (every
table is sorted, duplicate ids are ranked by content, then by name), and under
``--strict`` the reject that stops the run is the first by member name and record
either way. Every member of a name the archive holds more than once is read (``tar -r``
appends a corrected copy under the old one's name): the later ones are named apart,
``ARCHIVE!/path (occurrence 2)``..., numbered in the archive's order, so that the order
changes only which copy a name points to. Where the members pass the bomb budget, those
before are kept: in a tar, those before in the tar's order.
"""

from __future__ import annotations

import lzma
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from dedup.errors import DedupError
from dedup.io.inputs import archive_of, format_of, supported
from dedup.io.records import Reject
from dedup.io.streams import (
    _ZSTD_ERRORS,
    FileRejected,
    ReadOnce,
    Source,
    allow_framing,
    file_failure,
    inflation_budget,
    inflation_message,
    open_stream,
)

__all__ = ["read_archive"]

_CHUNK = 1 << 20
#: What a member's broken compressed data raises while it is copied (zipfile's deflate, bzip2, LZMA, zstd; bz2's
#: is an OSError without errno, a disk's has one).
_BROKEN = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, ValueError, *_ZSTD_ERRORS)
#: A tar's own bytes around its members: the end-of-archive blocks and the padding of the last record.
_TAR_END = 2 * 512 + 10240


class _Stop(Exception):
    """The rest of the archive cannot be read: one reject naming ``file`` (a member or the archive)."""

    def __init__(self, file: str, reason: str, message: str):
        super().__init__(message)
        self.file, self.reason, self.message = file, reason, message


def _text(name: str) -> str:
    """A member's name as text any output holds: bytes not valid UTF-8 (kept by ``surrogateescape``) escaped."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class _Members:
    """The decisions on one archive's members, the spooling and reading of those read, and its budget."""

    def __init__(self, source: Source, collector, read: Callable[[Source, Any], None], folder: Path):
        self.source, self.collector, self.read, self.folder = source, collector, read, folder
        self.archive = source.name
        self.records = collector.records   # before the archive: an archive of which nothing came is empty
        self.on_disk = source.path.stat().st_size
        self.budget = inflation_budget(source.limits, self.on_disk)
        self.inflated = 0          # the bytes of the members spooled so far
        self.declared = 0          # the sizes of the members met so far, read or not, as their headers give them
        self.met: Counter[str] = Counter()   # the members met of each name (a tar's headers are not kept)
        self.spooled = 0
        self.taken = 0             # the members read (or rejected as they were read)
        self.passed = 0            # the members passed over (folders, hidden, skipped, rejected unread)

    def name_of(self, member: str) -> str:
        """``ARCHIVE!/path/in/archive``: the member's name as stored, without the ``./`` a tar puts first."""
        while member.startswith("./"):
            member = member[2:]
        return f"{self.archive}!/{_text(member)}"

    def meet(self, member: str) -> str:
        """The name outputs give the member met next: :meth:`name_of`, and for a later member of a name met
        before ``ARCHIVE!/path (occurrence 2)``, ``(occurrence 3)``... (GNU tar's word), in the archive's order.
        Each copy is read as a file of its own: which one ``tar -x`` or ``unzip`` would keep (the last) is no
        rule for records, and records under one id in two copies go by ``duplicate_id``'s, whatever the order."""
        name = self.name_of(member)
        self.met[name] += 1
        return name if self.met[name] == 1 else f"{name} (occurrence {self.met[name]})"

    def reject(self, file: str, reason: str, message: str) -> None:
        self.collector.records += 1
        self.collector.reject(Reject(file, None, reason, message))

    def skip(self, entry: str) -> None:
        self.collector.skipped.append(entry)

    def decide(self, member: str, name: str, kind: str, size: int, link: str = "") -> bool:
        """Record what becomes of one member named ``name`` (by :meth:`meet`; ``kind``: file, folder, link or the
        kind of another entry); True if it is a file to read."""
        parts = PurePosixPath(member).parts
        self.passed += 1
        # every member's data counts, read or passed over (a tar's is decompressed to pass over it), so that
        # a tar and a zip of the same members decide alike
        self.declared += max(size, 0)
        if self.declared > self.budget:
            raise _Stop(name, "decompression_bomb",
                        self._bomb(f"its members pass {self.declared:,} bytes at this one"))
        if kind == "folder" or not parts or any(p.startswith(".") and p not in (".", "..") for p in parts):
            return False           # folders are implied by their members; hidden entries pass silently
        path = PurePosixPath(member)
        if kind == "link":
            self.skip(f"{name} (a link{f' to {_text(link)}' if link else ''} in the archive, not followed)")
            return False
        if not supported(path):
            self.skip(name)
            return False
        if kind != "file":
            self.reject(name, "unreadable_file", f"not a regular file ({kind}) in the archive; not read")
            return False
        limits = self.source.limits
        if archive_of(path):
            self.reject(name, "unsupported_format", "an archive inside an archive is not read: unpack it and give "
                        "its files (or the folder they are in) as input")
        elif size > limits.max_file_bytes:
            self.reject(name, "file_too_large", f"member has {size:,} bytes, more than max_file_bytes="
                        f"{limits.max_file_bytes:,} (each member read is copied to a temporary file); unpack the "
                        "archive or raise max_file_bytes")
        else:
            return True
        return False

    def _bomb(self, where: str) -> str:
        return (inflation_message(archive_of(self.source.path) or "archive", self.source.limits, self.on_disk, where)
                + "; the rest of the archive is not read")

    def spool(self, member: str, name: str, data: BinaryIO) -> Path:
        """Copy a member (named ``name`` in outputs) to a file of the temporary folder named by its format's
        suffixes, within the bomb budget. (Its size was checked against ``max_file_bytes``: zipfile and tarfile
        give no more bytes than a member's header declares.)"""
        compression = format_of(PurePosixPath(member))[1]
        suffixes = [s.lower() for s in PurePosixPath(member).suffixes][-2 if compression else -1:]
        self.spooled += 1
        path = self.folder / f"member-{self.spooled}{''.join(suffixes)}"
        with open(path, "wb") as out:
            while chunk := data.read(_CHUNK):
                self.inflated += len(chunk)
                if self.inflated > self.budget:
                    raise _Stop(name, "decompression_bomb",
                                self._bomb(f"stopped in this member after {self.inflated:,} bytes of members"))
                out.write(chunk)
        return path

    def take(self, member: str, name: str, data: BinaryIO) -> None:
        """Spool one member and read it under ``name``; its temporary file is removed after."""
        path, self.taken = None, self.taken + 1
        try:
            path = self.spool(member, name, data)
            self.read(Source(path, self.source.limits, encoding=self.source.encoding, display=name), self.collector)
        finally:
            if path is not None:
                path.unlink(missing_ok=True)


def read_archive(source: Source, collector, read: Callable[[Source, Any], None]) -> None:
    """Read the members of the archive ``source`` into ``collector`` (a :class:`dedup.io._Collector`), each by
    ``read`` (:func:`dedup.io.read_source`), in a temporary folder removed when done, on an error or an interrupt
    alike. A break in the archive keeps the members read before it: the rest is one reject naming the member
    (or the archive) where it broke. An archive with no member to read is an ``empty_file`` reject."""
    folder = Path(tempfile.mkdtemp(prefix="dedup-archive-"))
    try:
        members = _Members(source, collector, read, folder)
        if not members.on_disk:
            raise FileRejected("empty_file", "file holds no record")
        try:
            (_read_zip if archive_of(source.path) == "zip" else _read_tar)(members)
        except _Stop as stop:
            members.reject(stop.file, stop.reason, stop.message)
        else:
            if not members.taken and collector.records == members.records:
                raise FileRejected("empty_file", f"archive holds no file to read ({members.passed:,} members "
                                   "passed over: folders, hidden or unsupported files, links)")
    except (FileRejected, OSError) as exc:
        collector.records += 1
        collector.reject(Reject(source.name, None, *file_failure(exc)))
    except (DedupError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - a bug must not stop the night: as read_source does for a file
        collector.records += 1
        collector.reject(Reject(source.name, None, "reader_error", f"the archive could not be read "
                                f"({type(exc).__name__}: {str(exc)[:200]}); please report this bug"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        collector.warnings.update(source.warnings)


def _zip_kind(info: zipfile.ZipInfo) -> str:
    mode = info.external_attr >> 16   # the Unix mode, when the archiver stored one with its type
    if info.is_dir() or stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISLNK(mode):
        return "link"
    return "file" if not stat.S_IFMT(mode) or stat.S_ISREG(mode) else _other(mode)


def _other(mode: int) -> str:
    return ("a named pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a file")


def _zip_name(info: zipfile.ZipInfo) -> str:
    """The member's name: UTF-8 when flagged so; else the archiver's bytes read as UTF-8 if they are (Info-ZIP
    on Linux writes UTF-8 without the flag), as code page 437 (the zip format's own) if not."""
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return info.filename


def _read_zip(members: _Members) -> None:
    try:
        archive = zipfile.ZipFile(members.source.path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise FileRejected("corrupt_compression", f"not a readable zip archive ({exc}): its central directory, at "
                           "the end, is missing or damaged (a truncated download?); no member is read") from None
    with archive:
        # each entry, not each name (open(name) gives a name's last entry); entries of one name in the archive's order
        for member, info in sorted(((_zip_name(info), info) for info in archive.infolist()), key=lambda m: m[0]):
            name = members.meet(member)
            if not members.decide(member, name, _zip_kind(info), info.file_size):
                continue
            try:
                with archive.open(info) as data:
                    members.take(member, name, data)
            except FileRejected as exc:
                members.reject(name, exc.reason, exc.message)
            except (*_BROKEN, OSError) as exc:
                if isinstance(exc, OSError) and not isinstance(exc, _BROKEN) and exc.errno is not None:
                    raise   # the disk's, not the member's: the archive's unreadable_file
                members.reject(name, "corrupt_compression",
                               f"cannot decompress the member ({type(exc).__name__}: {exc}); the other members "
                               "are read")
            except (NotImplementedError, RuntimeError) as exc:   # a method zipfile lacks; an encrypted member
                members.reject(name, "unsupported_compression", f"cannot read the member: {exc}")


class _Header(tarfile.TarInfo):
    """A tar header that records why the archive ended, on the TarFile: a header that is cut short or not a
    header ends a tar stream without an error in :mod:`tarfile`."""

    @classmethod
    def fromtarfile(cls, tar):
        try:
            return super().fromtarfile(tar)
        except tarfile.EmptyHeaderError:   # the data ends where a header should be: no end-of-archive blocks
            tar.broken = "it ends without its end-of-archive blocks (truncated?)"
            raise
        except (tarfile.TruncatedHeaderError, tarfile.InvalidHeaderError) as exc:
            tar.broken = exc
            raise


def _tar_kind(info: tarfile.TarInfo) -> str:
    if info.isdir():
        return "folder"
    if info.issym() or info.islnk():
        return "link"
    if info.isreg():
        return "file"
    return ("a named pipe" if info.isfifo() else "a device" if info.ischr() or info.isblk() else "not a file")


class _UpToBreak(ReadOnce):
    """tarfile's reader of the stream: a break of the stream (a :class:`FileRejected`: truncated, corrupt, a bomb)
    ends the data right after the bytes decompressed before it, and is kept in ``error`` to report.

    tarfile reads a record (10 KiB) in a loop of reads and drops the bytes of the loop when one raises: the whole
    members before a break that lay in its last record were lost, every member of a small archive. Ended here,
    the member the data ends in raises tarfile's "unexpected end of data" (or the next header is missing), and
    the reader reports ``error`` instead, so a bomb stays a ``decompression_bomb``."""

    error: FileRejected | None = None
    given = 0          # the bytes returned so far
    last = b""         # the bytes the last read returned

    def read(self, size: int = -1) -> bytes:
        if self.error is None:
            try:
                self.last = super().read(size)
                self.given += len(self.last)
                return self.last
            except FileRejected as exc:
                self.error = exc
        return b""

    def unparsed(self, parsed: int) -> bytes:
        """The bytes returned past the first ``parsed``: those tarfile holds unread. It reads a record at a time
        and keeps what it has not used of it, a tail of the last bytes returned."""
        held = self.given - parsed
        return self.last[-held:] if held > 0 else b""


def _read_tar(members: _Members) -> None:
    path = members.source.path
    members.source.compression = "gzip" if path.suffix.lower() == ".tgz" else format_of(path)[1]
    with open_stream(members.source) as stream:   # decompressed by content, within the bomb ratio
        allow_framing(stream, _TAR_END)   # the ratio is on the members' data: _Members counts it
        reader = _UpToBreak(stream)
        try:
            tar = tarfile.open(fileobj=reader, mode="r|", tarinfo=_Header,   # noqa: SIM115 - closed below
                               encoding="utf-8", errors="surrogateescape")
        except tarfile.ReadError as exc:
            if reader.error is not None:
                raise reader.error from None
            raise FileRejected("corrupt_compression", f"not a readable tar archive ({exc}); if it is one compressed "
                               "file, not an archive, name it by its format (.jsonl.gz, .csv.gz...)") from None
        last = inside = None
        try:
            while (info := tar.next()) is not None:
                tar.members.clear()   # a stream keeps every header read: 100,000 members would stay in memory
                # this member's headers (a pax or long-name header's too) and the padding after its data
                allow_framing(stream, info.offset_data - info.offset + 2 * 512 + -info.size % 512)
                last = name = members.meet(info.name)
                if members.decide(info.name, name, _tar_kind(info), info.size, info.linkname):
                    inside = name
                    members.take(info.name, name, tar.extractfile(info))
                    inside = None
            parsed = tar.fileobj.tell()   # past the end-of-archive block tarfile stopped at
        except (_Stop, DedupError, MemoryError):
            raise
        except Exception as exc:  # noqa: BLE001 - tarfile raises more than TarError on a bad header (ValueError...)
            reason, message = _breaks(reader.error or exc)
            if inside is not None:
                raise _Stop(inside, reason, f"{message}; this member and the rest of the archive are not read") \
                    from None
            raise _Stop(members.archive, reason, f"{message}{_after(last)}") from None
        finally:
            tar.close()
        if (broken := getattr(tar, "broken", None)) is not None:
            reason, message = _breaks(reader.error or broken)
            raise _Stop(members.archive, reason, f"{message}{_after(last)}")
        # tarfile read its end-of-archive block: a break of the stream (reader.error) came after it
        _past_the_end(members, reader, reader.unparsed(parsed))


def _past_the_end(members: _Members, reader: _UpToBreak, rest: bytes) -> None:
    """Read the stream to its end after the tar's end-of-archive block (``rest``: the bytes tarfile holds unread
    after it), for what tarfile does not look at: the rest of the end blocks and padding, all zeros, and the
    compressed data's own end, where its check is (a gzip's CRC and length). Data there is a second archive
    (``cat a.tar.gz b.tar.gz``: ``tar -x`` stops at the first end too, ``tar -xi`` reads on) or damage; a
    failed check means the data of some member may be damaged. Either is one reject on the archive, the
    members read kept. (A second archive is not read on, as rare as it is: tarfile's ``ignore_zeros`` passes
    over a damaged header without a word, and a second tarfile started on the rest would be a second way for
    junk to be taken for an archive.) Zeros cost little (a megabyte at a time) and the stream's bomb guard
    bounds them."""
    while rest.count(0) == len(rest):   # zeros (b"" too): read on
        if not (rest := reader.read(_CHUNK)):
            break
    if rest:
        raise _Stop(members.archive, "corrupt_compression", "data after the end of the archive is not read "
                    "(archives joined with cat? unpack them with `tar -xi`); the members before it are read and kept")
    if (error := reader.error) is not None:
        damaged = ", but what follows them in the compressed data fails (a failed check there may mean a member " \
            "is damaged: test the file with its tool, e.g. `gzip -t`)" if error.reason == "corrupt_compression" else ""
        raise _Stop(members.archive, error.reason, f"{error.message}; after the end of the archive: its members "
                    f"were all read and are kept{damaged}")


def _breaks(cause: BaseException | str) -> tuple[str, str]:
    """The reason and message of a tar that breaks by ``cause``: the stream's own reject, or tarfile's."""
    if isinstance(cause, FileRejected):
        return cause.reason, cause.message
    if not isinstance(cause, (str, tarfile.TarError)):
        cause = f"{type(cause).__name__}: {cause}"
    return "corrupt_compression", f"the archive breaks: {cause}"


def _after(last: str | None) -> str:
    """The end of the message of a tar that breaks between members, ``last`` the name of the last one met."""
    return f"; the members after {last} are not read" if last is not None else "; no member is read"
