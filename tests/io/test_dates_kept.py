"""Dates that must survive reading: Parquet values outside years 1-9999 (one row's bad_date, not the file's
end) and the fractions of a second of an HTML page's published time."""

import json
import time
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq

from dedup.config import ReadConfig
from dedup.io import read_inputs
from tests.io.pages import classic_page, paragraphs

AFTER_9999 = 20000 * 365 * 86400          # seconds from 1970: year 21956, which Arrow holds and datetime cannot
BEFORE_1 = -(63 * 10**9)                  # year -27
OK = 1764230400                           # 2025-11-27T08:00:00Z


def _texts(n: int) -> list[str]:
    return [f"Dockworkers at the harbour walked off the job on day {i} of the dispute." for i in range(n)]


def _us(seconds: int, micros: int = 0) -> int:
    return seconds * 10**6 + micros


def test_a_parquet_date_outside_years_1_to_9999_is_one_bad_date_and_the_file_is_read(tmp_path):
    pq.write_table(pa.table({
        "id": ["a1", "a2", "a3", "a4"], "text": _texts(4),
        "published": pa.array([_us(OK, 250000), _us(AFTER_9999), _us(BEFORE_1), None], pa.timestamp("us", "UTC")),
    }), tmp_path / "pub.parquet")
    pq.write_table(pa.table({   # out of range only in columns dedup does not read, of several types
        "id": ["b1", "b2"], "text": _texts(2),
        "published": pa.array([OK * 1000 + 5, OK * 1000], pa.timestamp("ms")),
        "modified": pa.array([OK, AFTER_9999], pa.timestamp("s")),
        "expires": pa.array([date(2026, 1, 1), None], pa.date32()).cast(pa.int32()).fill_null(3_000_000)
        .cast(pa.date32()),
        "history": pa.array([[_us(OK)], [_us(OK), _us(AFTER_9999)]], pa.list_(pa.timestamp("us"))),
    }), tmp_path / "other.parquet")
    res = read_inputs([tmp_path])
    assert res.rejects.height == 0
    got = {row["article_id"]: row["published"] for row in res.articles.to_dicts()}
    assert got == {"a1": datetime(2025, 11, 27, 8, 0, 0, 250000, UTC), "a2": None, "a3": None, "a4": None,
                   "b1": datetime(2025, 11, 27, 8, 0, 0, 5000, UTC), "b2": datetime(2025, 11, 27, 8, tzinfo=UTC)}
    assert res.warnings["bad_date"] == 2    # a2 and a3; a4 has no date at all


def test_an_out_of_range_date_in_a_struct_reached_by_a_path_is_a_bad_date(tmp_path):
    dates = pa.array([{"published": date(2026, 11, 27)}, {"published": None}], pa.struct([("published", pa.date32())]))
    days = dates.field(0).cast(pa.int32()).fill_null(-800_000).cast(pa.date32())   # the second before year 1
    pq.write_table(pa.table({"id": ["s1", "s2"], "text": _texts(2),
                             "dates": pa.StructArray.from_arrays([days], ["published"])}), tmp_path / "s.parquet")
    res = read_inputs([tmp_path], config=ReadConfig(field_map=(("published", "dates.published"),)))
    assert res.rejects.height == 0
    assert res.articles["published"].to_list() == [datetime(2026, 11, 27, tzinfo=UTC), None]
    assert res.warnings["bad_date"] == 1


def test_an_html_page_keeps_the_fractions_of_a_second_of_its_time(tmp_path):
    (tmp_path / "a.html").write_text(classic_page(paragraphs(1), published="2026-11-27T10:00:00.250+05:30"))
    (tmp_path / "b.html").write_text(classic_page(paragraphs(2), published="2026-11-27"))
    res = read_inputs([tmp_path])
    assert res.rejects.height == 0
    assert res.articles.sort("source_file")["published"].to_list() == [
        datetime(2026, 11, 27, 4, 30, 0, 250000, UTC), datetime(2026, 11, 27, tzinfo=UTC)]


def test_an_out_of_range_date_in_a_fixed_size_list_or_a_map_column_spoils_no_row(tmp_path):
    """Columns dedup does not read, of the two nested kinds structs and lists do not cover."""
    stamps = pa.array([_us(OK), _us(AFTER_9999)], pa.timestamp("us"))
    for name, column in [("fixed", pa.FixedSizeListArray.from_arrays(stamps, 1)),
                         ("map", pa.MapArray.from_arrays([0, 1, 2], pa.array(["k", "k"]), stamps))]:
        pq.write_table(pa.table({"id": [f"{name}1", f"{name}2"], "text": _texts(2), "history": column}),
                       tmp_path / f"{name}.parquet")
    read = read_inputs([tmp_path])
    assert read.rejects.height == 0 and sorted(read.articles["article_id"]) == ["fixed1", "fixed2", "map1", "map2"]


def test_an_html_page_dated_tomorrow_in_utc_keeps_its_date_whatever_the_machines_time_zone(tmp_path, monkeypatch):
    """htmldate's default limit was the end of the machine's local today: twelve hours west of UTC, a page
    dated (UTC) tomorrow, or today in the evening, was "in the future", and its date was taken from elsewhere."""
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    (tmp_path / "a.html").write_text(classic_page(paragraphs(1), published=f"{tomorrow.isoformat()}T08:00:00"))
    monkeypatch.setenv("TZ", "Etc/GMT+12")   # UTC-12: the local date is today or yesterday in UTC
    time.tzset()
    try:
        res = read_inputs([tmp_path])
    finally:
        monkeypatch.undo()
        time.tzset()
    assert res.articles["published"].to_list() == [datetime(tomorrow.year, tomorrow.month, tomorrow.day, 8, tzinfo=UTC)]


def test_each_read_takes_the_latest_page_date_anew(tmp_path, monkeypatch):
    """A process that reads again days later (a notebook, a service calling dedup.run every night) must not
    keep its first read's limit: a page dated after it would lose its date."""
    from dedup.io import html

    class Clock(datetime):
        at = datetime(2026, 12, 1, 9, tzinfo=UTC)

        @classmethod
        def now(cls, tz=None):
            return cls.at

    monkeypatch.setattr(html, "datetime", Clock)
    (tmp_path / "a.html").write_text(classic_page(paragraphs(1), published="2026-12-03T08:00:00"))
    first = read_inputs([tmp_path])   # on 12-01, 12-03 is after tomorrow: not the page's date
    Clock.at = datetime(2026, 12, 3, 9, tzinfo=UTC)
    second = read_inputs([tmp_path])
    assert first.articles["published"].to_list() != [datetime(2026, 12, 3, 8, tzinfo=UTC)]
    assert second.articles["published"].to_list() == [datetime(2026, 12, 3, 8, tzinfo=UTC)]


def test_int96_time_stamps_outside_1677_to_2262_are_the_dates_written(tmp_path):
    # Spark, Hive and Impala write INT96; read as nanoseconds, 9999-12-31 wrapped silently to 1816-03-29
    pq.write_table(pa.table({"id": ["s1", "s2", "s3", "s4"], "text": _texts(4), "published": pa.array(
        [_us(OK), _us(253402214400), _us(-62135596800), _us(AFTER_9999)], pa.timestamp("us"))}),
        tmp_path / "spark.parquet", use_deprecated_int96_timestamps=True)
    res = read_inputs([tmp_path])
    assert res.rejects.height == 0
    assert res.articles.sort("article_id")["published"].to_list() == [
        datetime(2025, 11, 27, 8, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC), None]
    assert res.warnings["bad_date"] == 1   # after year 9999


def test_an_rfc_2822_date_with_a_year_or_hour_of_twenty_digits_is_a_bad_date_not_a_lost_article(tmp_path):
    # datetime() overflows a C integer on them: that was a reader_error reject, the article lost
    recs = [{"id": "a1", "text": "Alpha.", "published": "Fri, 27 Nov 99999999999999999999 08:15:00 +0000"},
            {"id": "a2", "text": "Beta.", "published": "27 Nov 2026 99999999999:15:00 +0000"},
            {"id": "a3", "text": "Gamma.", "published": "27 Nov 99999999999 08:15:00 +0000",
             "date": "2026-11-29T10:00:00Z"}]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    res = read_inputs([tmp_path])
    assert res.rejects.height == 0
    got = {a["article_id"]: a["published"] for a in res.articles.to_dicts()}
    assert got == {"a1": None, "a2": None, "a3": datetime(2026, 11, 29, 10, tzinfo=UTC)}
    assert dict(res.warnings) == {"bad_date": 2, "date_fallback": 1}
