"""The Parquet reader: one record per row (see :mod:`dedup.io.readers`).

Read with pyarrow; what polars or Python's datetime cannot take is made readable first, column by column
(a time zone of a half hour, a date outside years 1-9999), so that a file is never lost for one value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dedup.io.streams import FileRejected, Source, read_whole

Raw = tuple[int | None, Any]


def read_parquet(source: Source) -> Iterator[Raw]:
    """One record per row. Read with pyarrow, and time stamps with a time zone are moved to UTC (the same
    instants) before polars sees them: polars cannot read every zone Arrow allows (an offset of a half hour,
    ``+05:30``, as pandas writes it for Indian times), and fails with a panic, printed on stderr."""
    data = read_whole(source)
    try:
        table = pq.read_table(pa.BufferReader(data))
        table = table.cast(pa.schema([field.with_type(_utc(field.type)) for field in table.schema],
                                     metadata=table.schema.metadata))
        frame = pl.from_arrow(_dates_in_range(table))
    except (Exception, pl.exceptions.PanicException) as exc:  # corrupt files raise many kinds, even panics
        raise FileRejected("malformed_parquet", f"cannot read Parquet: {type(exc).__name__}: "
                           f"{str(exc)[:200]}") from None
    yield from enumerate(frame.iter_rows(named=True), start=1)


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
