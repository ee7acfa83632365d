"""The Parquet reader: one record per row (see :mod:`dedup.io.readers`).

Read with pyarrow, a batch of rows at a time and only the columns a record can be mapped from; what polars
or Python's datetime cannot take is made readable first, column by column (a time zone of a half hour, a
date outside years 1-9999), so that a file is never lost for one value.

A Parquet file is compressed data like a ``.gz``, and its values are bounded alike
(:class:`~dedup.io.streams.Limits`): the values decoded may not exceed ``max_decompression_ratio``
times the file's size on disk (:func:`~dedup.io.streams.inflation_budget`) or ``max_file_bytes``, the
larger (:func:`decoded_budget`; a ``decompression_bomb`` past it, the rows before are kept), nor one row's
``max_record_bytes`` (``record_too_large``, that row). ``max_file_bytes`` because a file read whole may
hold as much anyway, and verbatim copies, what dedup is for, decode to more than 100 times their Parquet
file: one dictionary entry for a text that a hundred outlets carried.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dedup.io.records import ALIASES, Reject
from dedup.io.streams import (
    FileRejected,
    Limits,
    Source,
    inflation_budget,
    open_seekable,
)

Raw = tuple[int | None, Any]

#: Rows decoded at a time, at most; fewer where a dictionary's values may be long (:func:`_batch_rows`).
BATCH_ROWS = 1024
#: What the values of a batch's rows may take, at most, as far as the footer and the dictionary pages tell.
BATCH_BYTES = 256 * 2**20


def read_parquet(source: Source) -> Iterator[Raw]:
    """One record per row, of the columns :func:`_mappable` keeps (the others are in each record as null, so
    that a ``missing_text`` reject still names every column). Time stamps with a time zone are moved to UTC
    (the same instants) before polars sees them: polars cannot read every zone Arrow allows (an offset of a
    half hour, ``+05:30``, as pandas writes it for Indian times), and fails with a panic, printed on stderr.

    The values decoded are counted against :func:`decoded_budget` of the file's size on disk, all row
    groups' by the footer before any is read (a huge value is not decoded) and each batch's by what it
    holds (a dictionary's value as often as rows use it): past the budget, the rows from there on are one
    ``decompression_bomb`` reject. A row whose columns read hold more than ``max_record_bytes`` is
    that row's ``record_too_large`` reject, not made a Python value.
    """
    read = 0   # the rows read so far
    with open_seekable(source) as stream:
        rows = _rows(source, stream)
        while True:
            try:
                batch = next(rows)
            except StopIteration:
                return
            except FileRejected:
                raise
            except (Exception, pl.exceptions.PanicException) as exc:  # corrupt files raise many kinds, even panics
                rest = f"; the rows from {read + 1} on are not read" if read else ""
                raise FileRejected("malformed_parquet", f"cannot read Parquet: {type(exc).__name__}: "
                                   f"{str(exc)[:200]}{rest}") from None
            read += len(batch)
            yield from batch


def _rows(source: Source, data: BinaryIO) -> Iterator[list[Raw]]:
    """The records of the Parquet file ``data``, a batch at a time (see :func:`read_parquet`): the row groups
    within the budget as the footer gives their sizes, in one pass over them (a file of many small row
    groups is read in batches of many groups), then the bomb of the group that passes it, if one does."""
    limits = source.limits
    on_disk = os.stat(source.path).st_size
    budget, spent, number = decoded_budget(limits, on_disk), 0, 0
    # pages read one after the other, not a column chunk at once: the memory is a batch's. INT96 time stamps
    # (Spark, Hive, Impala) in microseconds: as nanoseconds, those outside years 1677-2262 (9999-12-31, a
    # sentinel) would wrap to another date silently, where in microseconds _dates_in_range sees them.
    file = pq.ParquetFile(data, buffer_size=1 << 20, pre_buffer=False, coerce_int96_timestamp_unit="us")
    names = file.schema_arrow.names
    wanted = _mappable(names, limits.field_map)
    paths = [file.schema.column(j).path for j in range(file.metadata.num_columns)]
    leaves = [j for j, path in enumerate(paths) if any(path == name or path.startswith(name + ".") for name in wanted)]
    groups = [file.metadata.row_group(g) for g in range(file.num_row_groups)]
    declared = np.cumsum([sum(group.column(j).total_uncompressed_size for j in leaves) for group in groups],
                         dtype=np.int64)
    within = int(np.searchsorted(declared, budget, side="right"))   # the groups the footer fits in the budget
    everyone = names if len(wanted) < len(names) else None   # the columns not read are in each record, null
    if within:
        batch_rows = min(_batch_rows(data, [group.column(j) for j in leaves]) for group in groups[:within])
        for batch in _batches(file, within, batch_rows, wanted):
            sizes = _value_bytes(batch)
            total = spent + np.cumsum(sizes)
            fits = int(np.searchsorted(total, budget, side="right"))   # the rows within the budget
            big = sizes > limits.max_record_bytes
            kept = [i for i in range(fits) if not big[i]]
            table = pa.Table.from_batches([batch])
            records = _records(table if len(kept) == len(batch) else table.take(pa.array(kept, pa.int64())),
                               everyone)   # (typed: an empty list of rows is no type pyarrow takes with)
            yield [(number + i + 1, Reject("", number + i + 1, "record_too_large", f"the row's values hold "
                                           f"{int(sizes[i]):,} bytes, more than max_record_bytes="
                                           f"{limits.max_record_bytes:,}; not read") if big[i] else next(records))
                   for i in range(fits)]
            if fits < len(batch):
                raise _bomb(limits, on_disk, f"stopped after {int(total[fits]):,} bytes", number + fits)
            spent, number = spent + int(sizes.sum()), number + len(batch)
    if within < len(groups):   # as the footer says: the values are not decoded
        raise _bomb(limits, on_disk, f"its footer gives {int(declared[within]):,} bytes up to the end of row "
                    f"group {within + 1}", number)


def _batches(file: pq.ParquetFile, within: int, batch_rows: int, columns: list[str]) -> Iterator[pa.RecordBatch]:
    """The rows of the first ``within`` row groups of ``file``, ``batch_rows`` at a time, read in one pass (a
    batch may hold rows of several groups). If a group cannot be read, the rows of the groups before it in
    the batch that failed are read again group by group, so that they are kept, before the error is raised
    (the corrupt group's own, then)."""
    done = 0
    try:
        for batch in file.iter_batches(batch_size=batch_rows, row_groups=list(range(within)), columns=columns):
            yield batch
            done += len(batch)
    except (pa.ArrowException, OSError):   # corrupt data: read_parquet reports what the group by itself raises
        start = 0   # the first row of group g
        for g in range(within):
            rows = file.metadata.row_group(g).num_rows
            if start + rows > done:
                skip = max(done - start, 0)   # the group's rows already given
                for batch in file.iter_batches(batch_size=batch_rows, row_groups=[g], columns=columns):
                    if skip < len(batch):
                        yield batch.slice(skip)
                    skip = max(skip - len(batch), 0)
            start += rows


def decoded_budget(limits: Limits, on_disk: int) -> int:
    """The bytes the values of a Parquet file of ``on_disk`` bytes may decode to: its
    :func:`~dedup.io.streams.inflation_budget`, or ``max_file_bytes`` if more (what a file read whole may
    hold: verbatim copies are one dictionary entry and many small indices)."""
    return max(inflation_budget(limits, on_disk), limits.max_file_bytes)


def _batch_rows(data: BinaryIO, chunks: list) -> int:
    """The rows to decode at a time from a row group's column ``chunks``, so that :data:`BATCH_BYTES` holds
    them: a value in a column's dictionary page may stand for every row (the dictionary page's size, which
    its header says, is then each row's), where the other pages hold each value once (the footer's sizes are
    checked before). The chunks' dictionary pages are read here, before the batches."""
    per_row = 0
    for chunk in chunks:
        if chunk.has_dictionary_page and chunk.dictionary_page_offset is not None:
            data.seek(chunk.dictionary_page_offset)
            per_row += _dictionary_page_bytes(data.read(64)) or chunk.total_uncompressed_size
    return max(1, min(BATCH_ROWS, BATCH_BYTES // max(per_row, 1)))


def _dictionary_page_bytes(head: bytes) -> int | None:
    """The uncompressed size a Parquet dictionary page declares in its header (Thrift's compact protocol:
    field 1 the page type, 2 its uncompressed size, each an i32); None if ``head`` does not start so."""
    fields: dict[int, int] = {}
    pos = field = 0
    while len(fields) < 2 and pos < len(head):
        delta, kind = head[pos] >> 4, head[pos] & 0x0F
        pos += 1
        if kind != 5 or not delta:   # not an i32 field, or not numbered by its delta
            return None
        field, value, shift = field + delta, 0, 0
        while pos < len(head):
            value |= (head[pos] & 0x7F) << shift
            pos, shift = pos + 1, shift + 7
            if not head[pos - 1] & 0x80:
                break
        fields[field] = (value >> 1) ^ -(value & 1)   # zigzag
    return fields.get(2) if fields.get(1) == 2 else None   # 2: DICTIONARY_PAGE


def _mappable(names: list[str], field_map) -> list[str]:
    """The columns of ``names`` a record can be mapped from (:class:`~dedup.io.records.RecordMapper`): those
    a ``--field`` mapping or an alias names, or the start of a mapping's path (``body`` for ``body.main``),
    as written or in their case-folded, stripped form (the mapping's too: ``text=Story Body`` reaches the column
    ``Story Body ``, as :class:`~dedup.io.records.RecordMapper` finds it)."""
    usable = {alias for aliases in ALIASES.values() for alias in aliases}
    heads = {part for _, path in field_map for part in (path, path.split(".")[0])}
    usable.update(name for head in heads for name in (head, head.strip().casefold()))
    return [name for name in dict.fromkeys(names) if name in usable or name.strip().casefold() in usable]


def _bomb(limits: Limits, on_disk: int, where: str, read: int) -> FileRejected:
    return FileRejected("decompression_bomb", f"Parquet data inflates past {decoded_budget(limits, on_disk):,} "
                        f"bytes, the larger of {limits.max_decompression_ratio:g} times its {on_disk:,} bytes on "
                        f"disk and max_file_bytes; {where} (raise max_decompression_ratio or max_file_bytes if "
                        f"the file is genuine); the rows from {read + 1} on are not read")


def _is_bytes(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind) or \
        pa.types.is_large_binary(kind)


def _records(table: pa.Table, names: list[str] | None) -> Iterator[dict[str, Any]]:
    """The rows of ``table`` as Python values, each with every column of ``names`` (if given) that ``table``
    lacks, as null."""
    if not table.num_columns:   # (no column is mapped; a cast of no columns loses the row count)
        rows: Iterator[dict[str, Any]] = ({} for _ in range(table.num_rows))
    else:
        table = table.cast(pa.schema([field.with_type(_utc(field.type)) for field in table.schema],
                                     metadata=table.schema.metadata))
        rows = pl.from_arrow(_dates_in_range(table)).iter_rows(named=True)
    return rows if names is None else ({name: row.get(name) for name in names} for row in rows)


def _value_bytes(batch: pa.RecordBatch) -> np.ndarray:
    """The bytes of each row of ``batch``, its values decoded (a dictionary's value counted in each row)."""
    sizes = np.zeros(len(batch), np.int64)
    for column in batch.columns:
        sizes += _sizes(column)
    return sizes


def _sizes(array: pa.Array) -> np.ndarray:
    """The bytes of each value of ``array`` decoded: a string's length, a fixed width's, the sum of a struct's
    or a list's values; an unknown type's share of its buffers."""
    kind = array.type
    if pa.types.is_dictionary(kind):
        return np.asarray(pc.take(pa.array(_sizes(array.dictionary)), array.indices).fill_null(0), np.int64)
    if _is_bytes(kind):
        return np.asarray(pc.binary_length(array).fill_null(0), np.int64)
    if pa.types.is_string_view(kind) or pa.types.is_binary_view(kind):   # no kernel: each view of 16 bytes
        views = np.frombuffer(array.buffers()[1], np.int32, 4 * (array.offset + len(array)))   # starts with
        lengths = views[4 * array.offset::4].astype(np.int64)                                  # its length
        return np.where(array.is_valid().to_numpy(zero_copy_only=False), lengths, 0)
    if pa.types.is_struct(kind):
        return sum((_sizes(child) for child in array.flatten()), np.zeros(len(array), np.int64))
    if pa.types.is_map(kind):   # (list_flatten would take it for a list, and abort)
        offsets = np.asarray(array.offsets, np.int64)
        first, count = int(offsets[0]), int(offsets[-1] - offsets[0])   # keys and items are not sliced
        entries = _sizes(array.keys.slice(first, count)) + _sizes(array.items.slice(first, count))
        return np.bincount(np.repeat(np.arange(len(array)), np.diff(offsets)), entries,
                           minlength=len(array)).astype(np.int64)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        parents = np.asarray(pc.list_parent_indices(array), np.int64)
        return np.bincount(parents, _sizes(pc.list_flatten(array)), minlength=len(array)).astype(np.int64)
    if pa.types.is_null(kind):
        return np.zeros(len(array), np.int64)
    try:
        return np.full(len(array), max(kind.bit_width // 8, 1), np.int64)
    except ValueError:   # not a fixed width: each value its share of the array
        return np.full(len(array), array.nbytes // max(len(array), 1), np.int64)


def _utc(kind: pa.DataType) -> pa.DataType:
    """``kind`` with each time stamp that has a time zone in UTC instead, in structs and lists too."""
    return _retyped(kind, lambda leaf: pa.timestamp(leaf.unit, "UTC") if pa.types.is_timestamp(leaf) and leaf.tz
                    else leaf)


def _retyped(kind: pa.DataType, change: Callable[[pa.DataType], pa.DataType]) -> pa.DataType:
    """``kind`` with ``change`` applied to it, or to each of its types in structs and lists."""
    if pa.types.is_struct(kind):
        return pa.struct([kind.field(i).with_type(_retyped(kind.field(i).type, change))
                          for i in range(kind.num_fields)])
    if pa.types.is_list(kind):
        return pa.list_(kind.value_field.with_type(_retyped(kind.value_type, change)))
    if pa.types.is_large_list(kind):
        return pa.large_list(kind.value_field.with_type(_retyped(kind.value_type, change)))
    if pa.types.is_fixed_size_list(kind):
        return pa.list_(kind.value_field.with_type(_retyped(kind.value_type, change)), kind.list_size)
    if pa.types.is_map(kind):
        return pa.map_(kind.key_field.with_type(_retyped(kind.key_type, change)),
                       kind.item_field.with_type(_retyped(kind.item_type, change)))
    return change(kind)


#: The first and the last instant after Python's datetime (0001-01-01, 10000-01-01), in seconds from 1970.
_DATETIME_RANGE = (-62135596800, 253402300800)
_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6}   # ns time stamps (years 1677-2262) are always in range


def _dates_in_range(table: pa.Table) -> pa.Table:
    """``table`` with each column that holds a date outside years 1-9999 (Postgres' ``infinity``, a year 20260),
    which Arrow holds but Python's datetime cannot, as text: then one row's ``bad_date``, not the file's end."""
    for i, field in enumerate(table.schema):
        column = table.column(i)
        if any(_beyond_datetime(chunk) for chunk in column.chunks):
            kind = _as_text(field.type)
            table = table.set_column(i, field.with_type(kind), column.cast(kind))
    return table


def _beyond_datetime(array: pa.Array) -> bool:
    """True if ``array`` (or a struct field or list in it) holds a date or time stamp outside years 1-9999."""
    kind = array.type
    if pa.types.is_struct(kind):
        return any(_beyond_datetime(child) for child in array.flatten())
    if pa.types.is_map(kind):
        return _beyond_datetime(array.keys) or _beyond_datetime(array.items)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return _beyond_datetime(array.flatten())
    if pa.types.is_timestamp(kind) and kind.unit in _PER_SECOND:
        low, high = (bound * _PER_SECOND[kind.unit] for bound in _DATETIME_RANGE)
    elif pa.types.is_date32(kind):
        low, high = (bound // 86400 for bound in _DATETIME_RANGE)
    elif pa.types.is_date64(kind):
        low, high = (bound * 1000 for bound in _DATETIME_RANGE)
    else:
        return False
    least, most = pc.min_max(array.view(pa.int32() if pa.types.is_date32(kind) else pa.int64())).values()
    return least.is_valid and (least.as_py() < low or most.as_py() >= high)


def _as_text(kind: pa.DataType) -> pa.DataType:
    """``kind`` with each date and time stamp that may lie outside years 1-9999 as a string (ISO 8601)."""
    return _retyped(kind, lambda leaf: pa.string() if pa.types.is_date(leaf) or (
        pa.types.is_timestamp(leaf) and leaf.unit in _PER_SECOND) else leaf)
