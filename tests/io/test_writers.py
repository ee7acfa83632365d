"""The output writers: the same rows give the same bytes."""

from __future__ import annotations

import polars as pl

from dedup.io.writers import ROW_GROUP_ROWS, write_table


def test_parquet_bytes_do_not_depend_on_how_the_frame_is_chunked(tmp_path):
    n = 2 * ROW_GROUP_ROWS + 1234
    frame = pl.DataFrame({"id": [f"a{i:07d}" for i in range(n)], "n": list(range(n))})
    # e.g. the sentence rows of one worker against those of two: the same rows, other chunks
    chunked = pl.concat([frame.slice(0, 17), frame.slice(17, ROW_GROUP_ROWS), frame.slice(17 + ROW_GROUP_ROWS, n)],
                        rechunk=False)
    assert chunked.n_chunks() == 3 and frame.n_chunks() == 1
    one = write_table(frame, tmp_path, "one", ["parquet", "csv"])
    three = write_table(chunked, tmp_path, "three", ["parquet", "csv"])
    for a, b in zip(one, three):
        assert a.read_bytes() == b.read_bytes(), a.suffix
