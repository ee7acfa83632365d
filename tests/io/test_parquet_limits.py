"""Parquet inflates like compressed data: its decoded values are held to max_decompression_ratio times its size
(or max_file_bytes, the larger: here lowered to 1 MiB so that the ratio's budget is the one) and each row to
max_record_bytes, and only the columns a record can be mapped from are read (a column nothing maps is never
decoded), a batch of rows at a time."""

import gzip
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dedup.config import ReadConfig
from dedup.io import parquet, read_inputs


def _texts(n: int, start: int = 0) -> list[str]:
    return [f"The ferry to the north island resumed its timetable on morning {i} after the storm." for i in
            range(start, start + n)]


#: max_file_bytes as low as it goes (max_record_bytes lowered with it): the budget is 100 times the file's size.
SMALL = ReadConfig(max_record_bytes=2**20, max_file_bytes=2**20)


def _rejects(res) -> list[tuple]:
    return [(row["record"], row["reason"]) for row in res.rejects.iter_rows(named=True)]


def test_a_huge_value_in_a_mapped_column_is_a_bomb_and_not_decoded_the_rows_before_are_kept(tmp_path):
    """Two rows of 4 MiB of one letter (a few KB on disk with zstd): past 100 times the file and its 1 MiB
    grace. The row group before them is kept; theirs is one reject (by its footer: never decoded)."""
    path = tmp_path / "a.parquet"
    schema = pa.schema([("id", pa.string()), ("text", pa.large_string())])
    with pq.ParquetWriter(path, schema, compression="zstd", use_dictionary=False) as writer:
        writer.write_table(pa.table({"id": ["a1", "a2", "a3"], "text": _texts(3)}, schema=schema))
        writer.write_table(pa.table({"id": ["b1", "b2"], "text": ["x" * (4 * 2**20)] * 2}, schema=schema))
    assert path.stat().st_size < 20_000
    res = read_inputs([path], config=SMALL)
    assert res.articles["article_id"].to_list() == ["a1", "a2", "a3"]
    assert _rejects(res) == [(None, "decompression_bomb")]
    message = res.rejects["message"][0]
    assert message.startswith(f"Parquet data inflates past {2**20:,} bytes, the larger of 100 times its ")
    assert "row group 2" in message
    assert message.endswith("; the rows from 4 on are not read")
    assert res.records == res.articles.height + res.rejects.height


def test_a_dictionary_encoded_column_counts_its_value_in_every_row(tmp_path):
    """One 2,000-character text in 3,000 rows is a dictionary page of 2 KB and 3,000 indices on disk, and
    6 MB decoded: the rows within 100 times the file's size are kept, the rest are one reject (with
    max_file_bytes at 1 MiB; at its default of 2 GiB, the file is read whole)."""
    path = tmp_path / "d.parquet"
    text = " ".join(_texts(40))[:2000]
    pq.write_table(pa.table({"id": [f"d{i:04}" for i in range(3000)], "text": [text] * 3000}), path,
                   compression="zstd")
    assert path.stat().st_size < 20_000
    assert pq.ParquetFile(path).metadata.row_group(0).column(1).has_dictionary_page
    res = read_inputs([path], config=SMALL)
    kept = res.articles.height
    assert kept == max(100 * path.stat().st_size, 2**20) // 2005   # 5 bytes of id and the text, a row
    assert sorted(res.articles["article_id"]) == [f"d{i:04}" for i in range(kept)]   # the first rows
    assert _rejects(res) == [(None, "decompression_bomb")]
    assert res.rejects["message"][0].endswith(f"; the rows from {kept + 1} on are not read")
    # the limit is max_decompression_ratio's: raised, the file is read
    raised = ReadConfig(max_record_bytes=2**20, max_file_bytes=2**20, max_decompression_ratio=10_000)
    assert read_inputs([path], config=raised).articles.height == 3000


def test_a_row_over_max_record_bytes_is_that_rows_reject(tmp_path):
    path = tmp_path / "r.parquet"
    pq.write_table(pa.table({"id": ["r1", "r2", "r3"], "text": [_texts(1)[0], "word " * 2000, _texts(1, 2)[0]]}),
                   path)
    res = read_inputs([path], config=ReadConfig(max_record_bytes=4096))
    assert res.articles["article_id"].to_list() == ["r1", "r3"]
    assert _rejects(res) == [(2, "record_too_large")]
    assert "values hold 10,002 bytes, more than max_record_bytes=4,096" in res.rejects["message"][0]
    assert read_inputs([path]).articles.height == 3


def _with_a_broken_column(path, table: pa.Table, broken: str, group: int = 0, rows: int | None = None) -> None:
    """``table`` written to ``path`` (row groups of ``rows``) with the pages of column ``broken`` in row group
    ``group`` overwritten: reading them fails."""
    pq.write_table(table, path, use_dictionary=False, compression="none", row_group_size=rows)
    meta = pq.ParquetFile(path).metadata.row_group(group)
    chunk = next(meta.column(j) for j in range(meta.num_columns) if meta.column(j).path_in_schema == broken)
    data = bytearray(path.read_bytes())
    start = chunk.data_page_offset
    data[start:start + chunk.total_compressed_size] = b"\xfe" * chunk.total_compressed_size
    path.write_bytes(bytes(data))
    with pytest.raises(OSError):
        pq.read_table(path)


def test_a_column_no_field_maps_is_not_read(tmp_path):
    """A column a record cannot be mapped from is not decoded at all (here it is broken, so reading it would
    lose the file); the columns found by case folding and by a --field path are, and a record without a
    text still names every column in its reject."""
    blob = ["z" * 3000] * 3
    _with_a_broken_column(tmp_path / "plain.parquet", pa.table({"id": ["p1", "p2", "p3"], "Text": _texts(3),
                                                                "blob": blob}), "blob")
    nested = pa.array([{"main": t, "junk": "j"} for t in _texts(3, 3)])
    _with_a_broken_column(tmp_path / "nested.parquet", pa.table({" ID ": ["n1", "n2", "n3"], "Payload": nested,
                                                                 "blob": blob}), "blob")
    _with_a_broken_column(tmp_path / "none.parquet", pa.table({"headline": ["h1", "h2", "h3"], "blob": blob}),
                          "blob")
    res = read_inputs([tmp_path], config=ReadConfig(field_map=(("text", "payload.main"),)))
    assert sorted(res.articles["article_id"]) == ["n1", "n2", "n3", "p1", "p2", "p3"]
    assert set(res.articles["text"]) == set(_texts(6))
    assert _rejects(res) == [(1, "missing_text"), (2, "missing_text"), (3, "missing_text")]
    assert "record has: blob, headline)" in res.rejects["message"][0]


def test_a_corrupt_row_group_keeps_the_rows_before(tmp_path):
    path = tmp_path / "c.parquet"
    _with_a_broken_column(path, pa.table({"id": [f"c{i}" for i in range(6)], "text": _texts(6)}), "text", 1, 2)
    res = read_inputs([path])
    assert res.articles["article_id"].to_list() == ["c0", "c1"]
    assert _rejects(res) == [(None, "malformed_parquet")]
    assert res.rejects["message"][0].startswith("cannot read Parquet: ")
    assert res.rejects["message"][0].endswith("; the rows from 3 on are not read")


def test_batches_read_a_file_as_it_is_read_whole(tmp_path, monkeypatch):
    """Time zones moved to UTC and dates outside years 1-9999 made text, batch by batch: one in a later
    batch only is that row's bad_date, in a compressed file too; batches of 2 rows read as batches of 1,024."""
    published = pa.array([1764230400_000_000 + i * 3600_000_000 for i in range(9)], pa.int64())
    published = published.to_pylist()
    published[6] = 20000 * 365 * 86400 * 10**6   # year 21956
    table = pa.table({"id": [f"t{i}" for i in range(9)], "text": _texts(9),
                      "published": pa.array(published, pa.timestamp("us", "+05:30"))})
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=4)
    (tmp_path / "g.parquet.gz").write_bytes(gzip.compress((tmp_path / "t.parquet").read_bytes()))
    whole = read_inputs([tmp_path / "t.parquet"])
    monkeypatch.setattr(parquet, "BATCH_ROWS", 2)
    for res in (read_inputs([tmp_path / "t.parquet"]), read_inputs([tmp_path / "g.parquet.gz"])):
        assert res.rejects.height == 0 and res.warnings["bad_date"] == 1
        assert res.articles.drop("source_file").equals(whole.articles.drop("source_file"))
    by_id = dict(zip(whole.articles["article_id"], whole.articles["published"]))
    assert by_id["t6"] is None and by_id["t0"] == datetime(2025, 11, 27, 8, tzinfo=UTC)
    assert by_id["t8"] == datetime(2025, 11, 27, 16, tzinfo=UTC)


def test_a_long_dictionary_value_makes_batches_smaller(tmp_path):
    """A dictionary page's value may stand for every row: the rows decoded at a time are those
    BATCH_BYTES holds if each row held the whole page."""
    path = tmp_path / "long.parquet"
    pq.write_table(pa.table({"id": [f"l{i}" for i in range(50)], "text": [" ".join(_texts(12000))] * 50}), path)
    file = pq.ParquetFile(path)
    chunks = [file.metadata.row_group(0).column(j) for j in range(2)]
    with open(path, "rb") as data:
        rows = parquet._batch_rows(data, chunks)
    assert 1 <= rows <= parquet.BATCH_BYTES // len(" ".join(_texts(12000))) < parquet.BATCH_ROWS
