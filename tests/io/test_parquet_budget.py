"""What a Parquet file may decode to, and how its row groups are read: verbatim copies (one dictionary entry for
many rows) are read up to max_file_bytes whatever the ratio, an uncompressed file has no max_file_bytes (it is
read in batches), a file with no recognised column gives each row's missing_text, and many small row groups
are read in one pass that still keeps the rows before a corrupt group."""

import gzip

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dedup.config import ReadConfig
from dedup.io import parquet, read_inputs
from tests.io.test_parquet_limits import SMALL, _rejects, _texts, _with_a_broken_column


def _wire(path, stories: int, outlets: int) -> None:
    """A night's export of a wire feed: each story carried word for word by every outlet (pyarrow's defaults:
    each text is one dictionary entry)."""
    texts = [" ".join(_texts(25, 25 * s)) for s in range(stories)]
    rows = [(f"o{o}-s{s}", f"Outlet {o}", texts[s]) for s in range(stories) for o in range(outlets)]
    pq.write_table(pa.table(dict(zip(("id", "outlet", "text"), zip(*rows)))), path)


def test_verbatim_copies_are_read_up_to_max_file_bytes_whatever_the_ratio(tmp_path):
    path = tmp_path / "wire.parquet"
    _wire(path, 20, 150)
    decoded = sum(len(t) for t in pq.read_table(path).column("text").to_pylist())
    assert decoded > 150 * path.stat().st_size      # past max_decompression_ratio's 100 times
    res = read_inputs([path])
    assert res.rejects.height == 0, res.rejects["message"].to_list()
    assert res.articles.height == 3000
    # the larger of the two is the budget: below max_file_bytes, the ratio's is (the file is a bomb)
    assert _rejects(read_inputs([path], config=SMALL)) == [(None, "decompression_bomb")]


def test_a_file_with_no_recognised_column_gives_each_rows_missing_text(tmp_path):
    path = tmp_path / "unmapped.parquet"
    pq.write_table(pa.table({"headline_text": ["h1", "h2", "h3"], "story": _texts(3)}), path)
    res = read_inputs([path])
    assert _rejects(res) == [(1, "missing_text"), (2, "missing_text"), (3, "missing_text")]
    assert "record has: headline_text, story); map it with --field text=COLUMN" in res.rejects["message"][0]
    mapped = read_inputs([path], config=ReadConfig(field_map=(("text", "story"),)))
    assert sorted(mapped.articles["text"]) == sorted(_texts(3))


def test_an_uncompressed_file_larger_than_max_file_bytes_is_read_in_batches(tmp_path):
    path = tmp_path / "big.parquet"
    texts = [" ".join(_texts(4, 4 * i)) for i in range(4000)]
    pq.write_table(pa.table({"id": [f"b{i}" for i in range(4000)], "text": texts}), path, compression="none")
    assert path.stat().st_size > 2**20       # SMALL's max_file_bytes
    res = read_inputs([path], config=SMALL)
    assert res.rejects.height == 0 and res.articles.height == 4000
    # compressed, it is read whole into memory: max_file_bytes holds
    (tmp_path / "big.parquet.gz").write_bytes(gzip.compress(path.read_bytes()))
    path.unlink()
    assert _rejects(read_inputs([tmp_path], config=SMALL)) == [(None, "file_too_large")]


def test_many_small_row_groups_are_read_in_one_pass_up_to_the_group_past_the_budget(tmp_path, monkeypatch):
    path = tmp_path / "small.parquet"
    schema = pa.schema([("id", pa.string()), ("text", pa.large_string())])
    with pq.ParquetWriter(path, schema, compression="zstd", use_dictionary=False) as writer:
        for g in range(40):
            writer.write_table(pa.table({"id": [f"s{3 * g + i}" for i in range(3)], "text": _texts(3, 3 * g)},
                                        schema=schema))
        writer.write_table(pa.table({"id": ["x1"], "text": ["x" * (4 * 2**20)]}, schema=schema))
    calls = []
    iter_batches = pq.ParquetFile.iter_batches
    monkeypatch.setattr(pq.ParquetFile, "iter_batches",
                        lambda self, **kw: calls.append(kw) or iter_batches(self, **kw))
    res = read_inputs([path], config=SMALL)
    assert sorted(res.articles["article_id"]) == sorted(f"s{i}" for i in range(120))
    assert _rejects(res) == [(None, "decompression_bomb")]
    assert "row group 41" in res.rejects["message"][0]
    assert res.rejects["message"][0].endswith("; the rows from 121 on are not read")
    assert [kw["row_groups"] for kw in calls] == [list(range(40))]


@pytest.mark.parametrize("batch_rows", [1024, 3, 1])
def test_a_corrupt_group_read_in_a_batch_with_others_keeps_the_rows_before(tmp_path, monkeypatch, batch_rows):
    """Row groups of 2 rows, the third broken: in batches of 1,024 rows it is in the first batch, in batches
    of 3 in the second, which begins inside the second group."""
    kept = 4
    path = tmp_path / "c.parquet"
    _with_a_broken_column(path, pa.table({"id": [f"c{i}" for i in range(8)], "text": _texts(8)}), "text", 2, 2)
    monkeypatch.setattr(parquet, "BATCH_ROWS", batch_rows)
    res = read_inputs([path])
    assert sorted(res.articles["article_id"]) == [f"c{i}" for i in range(kept)]
    assert _rejects(res) == [(None, "malformed_parquet")]
    assert res.rejects["message"][0].endswith(f"; the rows from {kept + 1} on are not read")


def test_a_batch_whose_every_row_is_too_large_gives_each_rows_reject(tmp_path):
    """Rows of 2 MiB against max_record_bytes of 1 MiB, in a file far within max_file_bytes: each row is its
    record_too_large (no row of the batch is left to convert)."""
    path = tmp_path / "large.parquet"
    pq.write_table(pa.table({"id": ["l1", "l2", "l3"], "text": ["word " * (2**20 // 5 * 2)] * 3}), path,
                   compression="zstd", use_dictionary=False)
    res = read_inputs([path], config=ReadConfig(max_record_bytes=2**20))
    assert res.articles.height == 0
    assert _rejects(res) == [(1, "record_too_large"), (2, "record_too_large"), (3, "record_too_large")]
