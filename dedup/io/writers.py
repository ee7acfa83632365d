"""Writers for the run's output tables: deterministic bytes for the same data.

Every Parquet table goes through :class:`ParquetRows`, which takes the rows
part by part (a whole frame, or the sentence rows of each alignment chunk as
the workers return them) and writes row groups of exactly ``ROW_GROUP_ROWS``
rows: the bytes depend on the rows only, never on how they arrived. The CSV
and JSON copies are made from the written Parquet file, batch by batch.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Self

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from dedup.errors import OutputError
from dedup.io.inputs import OUTPUT_FILES, OUTPUT_TABLES


def _flatten_for_csv(frame: pl.DataFrame) -> pl.DataFrame:
    """CSV has no nested types: nested columns become compact JSON strings (as Spark's ``to_json``)."""
    nested = [name for name, dtype in frame.schema.items() if dtype.is_nested()]
    if not nested:
        return frame
    return frame.with_columns(
        pl.col(name).map_elements(lambda v: json.dumps(v.to_list() if hasattr(v, "to_list") else v,
                                                       ensure_ascii=False, sort_keys=True, separators=(",", ":")),
                                  return_dtype=pl.String)
        for name in nested
    )


ROW_GROUP_ROWS = 128 * 1024  # rows per Parquet row group


class ParquetRows:
    """A Parquet file of ``schema``'s rows, written part by part as the parts arrive.

    Parts (Arrow tables or polars frames with the schema's columns) are cast
    to the schema and written in row groups of exactly ``ROW_GROUP_ROWS``
    rows, each made one contiguous array per column (the writer would cut its
    pages where the parts end), so the file's bytes depend on the rows and
    their order only, not on how they were cut into parts; at most one row
    group's rows wait in memory.
    The file is written under a temporary name and takes its own in
    :meth:`close`; leaving the ``with`` block on an exception removes it.
    A failed write (a full disk) is an :class:`~dedup.errors.OutputError`
    (exit code 8), as the other outputs' are.

    >>> with ParquetRows(tmp / "sentences.parquet", SENTENCES) as rows:   # doctest: +SKIP
    ...     for part in parts:
    ...         rows.write(part)
    """

    def __init__(self, path: str | Path, schema: pl.Schema):
        self.path = Path(path)
        self.schema = pl.DataFrame(schema=schema).to_arrow().schema
        self._partial = _partial(self.path)
        with self._io():
            # The file, not its path: pyarrow reads a path as a URI first (``night:2026-11-27/x`` is refused)
            self._sink = pa.OSFile(str(self._partial), "wb")
            try:   # the writer writes the magic bytes at once: a full disk fails it, and leaves no file
                self._writer = pq.ParquetWriter(self._sink, self.schema, compression="zstd", write_statistics=True)
            except BaseException:
                self._sink.close()
                self._partial.unlink(missing_ok=True)
                raise
        self._waiting: list[pa.Table] = []
        self._n_waiting = 0
        self.rows = 0

    def write(self, part: pa.Table | pl.DataFrame) -> None:
        table = part.to_arrow() if isinstance(part, pl.DataFrame) else part
        table = table.select(self.schema.names).cast(self.schema)
        self._waiting.append(table)
        self._n_waiting += table.num_rows
        self.rows += table.num_rows
        if self._n_waiting >= ROW_GROUP_ROWS:
            self._flush(final=False)

    def _flush(self, final: bool) -> None:
        waiting = pa.concat_tables(self._waiting)
        start = 0
        while waiting.num_rows - start >= ROW_GROUP_ROWS or (final and start < waiting.num_rows):
            # one contiguous array per column: the writer cuts pages where the parts' chunks end
            group = waiting.slice(start, ROW_GROUP_ROWS).combine_chunks()
            with self._io():
                self._writer.write_table(group, row_group_size=ROW_GROUP_ROWS)
            start += group.num_rows
        self._waiting = [waiting.slice(start)] if start < waiting.num_rows else []
        self._n_waiting = waiting.num_rows - start

    def close(self) -> Path:
        """Write the last rows and give the file its name; returns the path."""
        try:
            if self._waiting:
                self._flush(final=True)
            with self._io():
                self._writer.close()
                self._sink.close()
                os.replace(self._partial, self.path)
        except BaseException:   # no cut-short file left behind
            self.abort()
            raise
        return self.path

    @contextmanager
    def _io(self) -> Iterator[None]:
        try:
            yield
        except OSError as exc:   # pyarrow's I/O errors are OSErrors too
            raise OutputError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def abort(self) -> None:
        try:
            self._writer.close()
        except OSError:   # the write that failed (a full disk) may fail the close too: the file goes anyway
            pass
        self._sink.close()
        self._partial.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_table(frame: pl.DataFrame, out_dir: Path, name: str, formats: Iterable[str]) -> list[Path]:
    """Write ``frame`` as ``name.parquet`` (always) and ``name.csv``/``name.json`` if asked.

    The bytes depend on the rows only, not on how the frame is chunked in
    memory (see :class:`ParquetRows`).
    """
    path = out_dir / f"{name}.parquet"
    with ParquetRows(path, frame.schema) as rows:
        for part in frame.iter_slices(4 * ROW_GROUP_ROWS):   # a few row groups in Arrow at a time, not the frame
            rows.write(part)
    return [path, *write_formats(path, formats)]


def write_formats(parquet: Path, formats: Iterable[str]) -> list[Path]:
    """The CSV and JSON copies (as ``formats`` asks) of a written Parquet table, next to it.

    Made batch by batch from the file: the table is never held whole. The
    bytes are those of polars' ``write_csv`` and of ``json.dumps(rows,
    indent=1)`` on the whole table.
    """
    written = []
    if "csv" in formats:
        path = parquet.with_suffix(".csv")
        with replacing(path, "wb") as fh:
            for k, batch in enumerate(_batches(parquet)):
                _flatten_for_csv(batch).write_csv(fh, include_header=k == 0, datetime_format=CSV_TIME)
        written.append(path)
    if "json" in formats:
        path = parquet.with_suffix(".json")
        with replacing(path, "w") as fh:
            # json.dumps(rows, indent=1) row by row: each row's own dump, indented one level
            sep = "[\n"
            for batch in _batches(parquet):
                for row in batch.iter_rows(named=True):
                    text = json.dumps(row, ensure_ascii=False, indent=1, default=_json_default)
                    fh.write(sep + " " + text.replace("\n", "\n "))
                    sep = ",\n"
            fh.write("[]\n" if sep == "[\n" else "\n]\n")
        written.append(path)
    return written


def _batches(parquet: Path) -> Iterator[pl.DataFrame]:
    """The table's rows as polars frames of a row group each (at least one frame, maybe empty)."""
    with pa.OSFile(str(parquet)) as source:   # opened here: pyarrow would read the path as a URI first
        file = pq.ParquetFile(source)
        if file.metadata.num_row_groups == 0:
            yield pl.from_arrow(file.schema_arrow.empty_table())
            return
        for k in range(file.metadata.num_row_groups):
            yield pl.from_arrow(file.read_row_group(k))


#: A time in the CSV copies, as in the JSON ones (:func:`_json_default`) and the Spark engine's: UTC, always
#: to the microsecond (``2026-11-27T10:00:00.500000Z``).
CSV_TIME = "%Y-%m-%dT%H:%M:%S%.6fZ"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):   # as CSV_TIME
        return value.isoformat(timespec="microseconds").replace("+00:00", "Z")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _partial(path: Path) -> Path:
    """Where an output is written until it is complete (:func:`remove_outputs` deletes it)."""
    return path.with_name(path.name + ".partial")


@contextmanager
def replacing(path: Path, mode: str) -> Iterator[IO]:
    """``path`` opened for writing (``mode`` "w": UTF-8 text, or "wb") under its ``.partial`` name, and renamed
    to ``path`` once closed: a write cut short (a full disk) never leaves a file under the output's name,
    nor its ``.partial`` (it is deleted, and the error raised)."""
    partial = _partial(path)
    try:
        with open(partial, mode, encoding=None if "b" in mode else "utf-8") as fh:
            yield fh
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def write_jsonl(rows: Iterable[dict[str, Any]], path: Path) -> Path:
    with replacing(path, "w") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, sort_keys=True, default=_json_default) + "\n")
    return path


#: Rows a slice when a frame is written as JSON lines (:func:`write_frame_jsonl`).
JSONL_SLICE_ROWS = 16 * 1024


def write_frame_jsonl(frame: pl.DataFrame, path: Path) -> Path:
    """``frame``'s rows as JSON lines, the bytes of ``write_jsonl(frame.to_dicts(), path)``, slice by slice:
    never the frame's rows as Python dicts at once, nor a ``json.dumps`` a row (``rejected.jsonl`` may have
    millions). Each distinct value of a slice's string (or categorical) column is dumped once, integers are
    their digits, and polars puts each line together. Other column types are a ``TypeError``."""
    names = sorted(frame.columns)   # json.dumps(sort_keys=True)
    heads = [("{" if k == 0 else ", ") + json.dumps(name, ensure_ascii=False) + ": " for k, name in enumerate(names)]
    with replacing(path, "w") as fh:
        for part in frame.iter_slices(JSONL_SLICE_ROWS):
            pieces: list[pl.Expr] = []
            for head, name in zip(heads, names):
                pieces += [pl.lit(head), pl.lit(_json_values(part[name]))]
            lines = part.select(pl.concat_str([*pieces, pl.lit("}\n")]).str.join("")).item()
            fh.write(lines)
    return path


def _json_values(column: pl.Series) -> pl.Series:
    """Each value of ``column`` as ``json.dumps(value, ensure_ascii=False)`` writes it (``null`` for a null)."""
    if column.dtype.is_integer():
        return column.cast(pl.String).fill_null("null")
    if column.dtype not in (pl.String, pl.Categorical, pl.Null):
        raise TypeError(f"cannot write a {column.dtype} column ({column.name}) as JSON lines")
    text = column.cast(pl.String)
    distinct = text.drop_nulls().unique()
    encoded = pl.Series([json.dumps(value, ensure_ascii=False) for value in distinct.to_list()], dtype=pl.String)
    return text.replace_strict(distinct, encoded, return_dtype=pl.String).fill_null("null")


def write_json(data: dict[str, Any], path: Path) -> Path:
    """``data`` as JSON in ``path``, never half of it: ``timings.json``, written last, marks a finished run."""
    with replacing(path, "w") as fh:
        fh.write(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, default=_json_default) + "\n")
    return path


def remove_outputs(out: Path) -> None:
    """Remove an earlier run's outputs from ``out``: the files of dedup's own output names, the
    folders of part files a Spark run writes for its tables under those names, the ``.partial``
    file of an output whose writing was cut short (:func:`replacing`), and the ``.report.html.tmp`` an
    older dedup wrote the report under. Nothing else in ``out`` is touched.

    Both engines call it before writing anything into ``out``, so that a run
    that stops part-way leaves its own files only, never some of an earlier
    run's beside them, nor the ``timings.json`` (written last) that marks a
    finished run. An output's name taken by another folder (one that is not
    a Spark table's: part files and Hadoop's side files only) is left as it
    is: an ``OSError``.
    """
    for name in sorted(OUTPUT_FILES):
        path = out / name
        if _spark_table(path):
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)   # a folder: IsADirectoryError
        _partial(path).unlink(missing_ok=True)
    (out / ".report.html.tmp").unlink(missing_ok=True)   # the report's temporary name before session 32


def _spark_table(path: Path) -> bool:
    """Whether the output name ``path`` is a folder a Spark run wrote a table into (removed with the outputs)."""
    return (path.name.startswith(tuple(f"{table}." for table in OUTPUT_TABLES)) and path.is_dir()
            and not path.is_symlink() and _holds_table_parts(path))


def _holds_table_parts(folder: Path) -> bool:
    """A folder a Spark run wrote a table into: its part files and Hadoop's ``_SUCCESS`` and ``.part-….crc``."""
    return all(entry.name.startswith(("part-", ".part-", "_SUCCESS")) for entry in folder.iterdir())


@contextmanager
def writing_into(out: Path) -> Iterator[None]:
    """A failed write into ``out`` (a full disk, no permission, an output's name taken by a folder) is an
    :class:`OutputError`, one line, not a traceback."""
    try:
        yield
    except OSError as exc:
        raise OutputError(f"cannot write the outputs in {out}: {exc.strerror or exc}"
                          f"{f' ({exc.filename})' if exc.filename else ''}") from None


def prepare_out_dir(out: Path) -> None:
    """Create ``out`` and remove an earlier run's outputs from it (:func:`remove_outputs`),
    before a run writes anything there: a run that stops part-way then leaves no folder mixing two runs."""
    with writing_into(out):
        out.mkdir(parents=True, exist_ok=True)
        remove_outputs(out)


def check_out_writable(out: Path) -> None:
    """Raise :class:`OutputError` if ``out`` could not be created or written into, as :func:`prepare_out_dir`
    would find, without creating it or touching what it holds: for a run that empties ``out`` late (a strict
    night, which may still stop at a record) but should not find a bad ``--out`` only after its work. Its
    nearest existing folder (``out`` itself, else the ancestor it would be made in) must be a folder that
    may be written into, and no output's name in it a folder other than a Spark table's."""
    with writing_into(out):
        found = next(path for path in (out, *out.absolute().parents) if os.path.lexists(path))
        if not found.is_dir():   # as mkdir says it: out a file, or under one
            code = errno.EEXIST if found == out else errno.ENOTDIR
            raise OSError(code, os.strerror(code), str(found))
        if not os.access(found, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(found))
        if found == out:   # an output's name taken by a folder (not a Spark table's), as remove_outputs finds it
            for name in sorted(OUTPUT_FILES):
                if (out / name).is_dir() and not _spark_table(out / name):
                    raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(out / name))
