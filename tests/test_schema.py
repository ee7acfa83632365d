"""dedup.schema.conform: exactly the declared schema, or a DedupError naming the stage and the column; never a
lossy cast (polars' strict cast lets a float's fraction and a one-field struct through)."""

import decimal

import polars as pl
import pytest

from dedup.errors import DedupError
from dedup.schema import CANDIDATES, SHINGLES, conform


def test_conform_casts_losslessly_to_exactly_the_schema():
    frame = pl.DataFrame({"right": [3.0, None], "left": [1, 2], "extra": ["x", "y"]})
    result = conform(frame, CANDIDATES, "lsh")
    assert result.schema == CANDIDATES and result.to_dicts() == [{"left": 1, "right": 3}, {"left": 2, "right": None}]
    shingles = pl.DataFrame({"doc": [0], "shingles": [[1.0, 2.0]], "sequence": [None], "n_tokens": [2],
                             "n_boilerplate": [0]})
    assert conform(shingles, SHINGLES, "shingle").schema == SHINGLES


@pytest.mark.parametrize("column, why", [
    ([1.7], "a number with a fraction would be truncated"),
    (pl.Series([decimal.Decimal("1.7")]), "a number with a fraction would be truncated"),   # polars: 1
    ([{"a": 1}], "a nested column cannot be a scalar one"),   # polars casts its field: a Struct, not UInt32
])
def test_conform_refuses_a_lossy_cast_naming_the_stage_and_column(column, why):
    with pytest.raises(DedupError, match=rf"^lsh: column 'left' \(.*\) does not fit the declared schema "
                                         rf"\(UInt32\): {why}$"):
        conform(pl.DataFrame({"left": column, "right": [3]}), CANDIDATES, "lsh")


def test_conform_refuses_fractions_in_a_list_of_floats():
    frame = pl.DataFrame({"doc": [0], "shingles": [[1.0, 2.5]], "sequence": [None], "n_tokens": [2],
                          "n_boilerplate": [0]})
    with pytest.raises(DedupError, match="column 'shingles'.*would be truncated"):
        conform(frame, SHINGLES, "shingle")


@pytest.mark.parametrize("column", [[0.5], [2]])
def test_conform_refuses_a_number_other_than_0_and_1_as_a_boolean(column):
    """polars' strict cast makes any number but 0 true."""
    with pytest.raises(DedupError, match="a number other than 0 and 1 cannot be a boolean"):
        conform(pl.DataFrame({"x": column}), pl.Schema({"x": pl.Boolean}), "state")
    assert conform(pl.DataFrame({"x": [1, 0, None]}), pl.Schema({"x": pl.Boolean}), "state")["x"].to_list() == [
        True, False, None]
