"""How inputs and output folders are named: paths, ``file://`` and other URIs, blank names (an unset
variable), and the part files of an output table. Re-exported by :mod:`dedup.io`."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from dedup.errors import ConfigError, InputError

#: ``hdfs://``, ``s3a://``, ``file:///``, ``file:/``: a scheme of two characters or more, then ``:/``
#: (``C:\corpus`` and ``C:/corpus`` are Windows drives; ``notes:1.jsonl`` is a file name).
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")


def is_uri(item: str | Path) -> bool:
    """Whether an input names a URI (``hdfs://nn/news``, ``s3a://bucket/x``, ``file:///tmp/x``), not a path."""
    return _URI.match(str(item)) is not None


def file_path(item: str | Path) -> Path | None:
    """Where an input lies on the local file system: a path as given, a ``file://`` URI as the path it
    names (percent escapes decoded: ``file:///x/e%20f.jsonl`` is ``/x/e f.jsonl``, on both engines);
    None for any other URI (``hdfs://``, ``s3a://``...)."""
    if not is_uri(item):
        return Path(item)
    parsed = urlparse(str(item))
    if parsed.scheme.lower() == "file" and parsed.netloc in ("", "localhost"):
        return Path(url2pathname(parsed.path))
    return None


def is_blank(value: str | Path) -> bool:
    """Whether a path as given names nothing: empty or blanks (an unset variable: ``--out "$OUT"``), or a URI
    with no path after its scheme (``file://$OUT``). ``Path("")`` is the working folder: such a value must
    be refused before it becomes one, or a run would read or write whatever folder it was started in."""
    return not str(value).strip() or (is_uri(value) and not urlparse(str(value)).path)


def local_folder(flag: str, value: str | Path) -> Path:
    """``--out`` or ``--state`` as the local engine writes it: a path as typed, a ``file://`` URI as the
    path it names (as the inputs are read). An empty value (:func:`is_blank`) and another URI (it would
    become a folder named ``hdfs:`` in the working folder) are bad parameters
    (:class:`~dedup.errors.ConfigError`, exit 2), not the working folder."""
    if is_blank(value):
        what = {"--out": "the output folder, e.g. --out dedup-out", "--state": "the state folder, e.g. --state state"}
        raise ConfigError(f"{flag} is empty; give {what.get(flag, 'a folder')}")
    path = file_path(value)
    if path is None:
        raise ConfigError(f"{flag} {value}: the local engine writes local folders only, a path or a file:/// URI")
    return path


def local_path(item: str | Path) -> str | Path:
    """An input as the local engine reads it: paths unchanged, ``file://`` URIs as their local path.

    Any other URI raises an :class:`InputError` naming the fix: the local
    engine reads local files and folders; Spark reads ``hdfs://``,
    ``s3a://``... (``--engine spark``). A blank one (``file://`` alone) is
    returned as it is, for :func:`given_inputs` to refuse, not made ``Path("")``.
    """
    if not is_uri(item) or is_blank(item):
        return item
    path = file_path(item)
    if path is not None:
        return path
    parsed = urlparse(str(item))
    raise InputError(f"input {item} is a {parsed.scheme}:// URI; the local engine reads local files and "
                     "folders only: run with --engine spark, or copy the files to a local folder")


def table_files(path: Path) -> list[Path]:
    """The Parquet files of one output table, in row order: ``path`` itself, or a folder's part files.

    The local engine writes ``clusters.parquet`` as one file; Spark writes a
    folder of part files (``clusters.parquet/part-00000-….parquet``), sorted
    so that reading them in name order gives the rows in the local order.
    In a folder, names starting with ``.`` or ``_`` are not data (Hadoop's
    ``_SUCCESS`` marker, ``.part-….crc`` checksums) and are skipped, as
    Spark's and pyarrow's readers do. A missing path gives an empty list.
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(p for p in path.iterdir()
                  if p.is_file() and p.suffix == ".parquet" and not p.name.startswith((".", "_")))


def given_inputs(inputs: list[str | Path]) -> None:
    """Refuse a run's inputs that name nothing: none at all (:class:`InputError`, exit 3), or one that is
    blank (:func:`is_blank`; ``dedup cluster "$TONIGHT"``, ``--corpus "$CORPUS"`` with the variable unset),
    which would otherwise read the working folder, recursively: a bad parameter (ConfigError, exit 2)."""
    if not inputs:
        raise InputError("no input given; pass files or folders, e.g. dedup cluster corpus/")
    blank = next((str(item) for item in inputs if is_blank(item)), None)
    if blank is not None:
        raise ConfigError(f"an input is blank ({blank!r}: an unset variable?); give the files or folders to read")
