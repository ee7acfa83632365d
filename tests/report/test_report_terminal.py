"""The end-of-run terminal summary."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from dedup.report import render_summary
from dedup.report.terminal import cells, fit, safe_line


def test_summary_lists_counts_top_stories_rejects_and_report(frames):
    text = render_summary(frames["summary"], frames["clusters"], report_path=Path("/out/report.html"), color=False)
    assert text.startswith("dedup 0.1.0: 14 records read from 2 file(s)\n")
    assert "clustered 11 · rejected 3" in text
    assert "stories 3 (2+ articles; largest 4) · duplicates removed 6 · single articles 2" in text
    assert "rejected by reason: malformed_json 2, empty_text 1" in text
    rows = [line for line in text.splitlines() if re.match(r"\s+\d+\s+\d+\s+\d+\s", line)]
    assert len(rows) == 3
    assert re.match(r"\s+1\s+4\s+4\s+2024-05-01 06:00\s+Reuters\s+Earthquake hits coast$", rows[0])
    assert "Polls open in capital" in rows[2]
    assert text.endswith("Report: /out/report.html\n")
    assert "\x1b" not in text


def test_first_seen_times_have_four_digit_years(frames):
    from datetime import UTC, datetime
    clusters = frames["clusters"].with_columns(
        pl.when(pl.col("cluster_id") == "c-quake").then(pl.lit(datetime(202, 5, 1, 6, tzinfo=UTC)))
        .otherwise(pl.col("published")).alias("published"))
    text = render_summary(frames["summary"], clusters, report_path=None, color=False)
    assert re.search(r"\s+1\s+4\s+4\s+0202-05-01 06:00\s+Reuters", text)


def test_stories_that_could_not_be_aligned_are_named_by_reason(frames):
    assert "not aligned" not in render_summary(frames["summary"], frames["clusters"], report_path=None, color=False)
    failures = [{"cluster_id": "s-1", "reason": "too_many_sentences", "message": "..."},
                {"cluster_id": "s-2", "reason": "too_many_sentences", "message": "..."},
                {"cluster_id": "s-3", "reason": "alignment_error", "message": "..."}]
    summary = {**frames["summary"], "alignment": {**frames["summary"].get("alignment", {}), "failures": failures}}
    text = render_summary(summary, frames["clusters"], report_path=None, color=False)
    assert "stories not aligned (no sentence diff): 3 — alignment_error 1, too_many_sentences 2" in text


def test_top_limits_the_list(frames):
    text = render_summary(frames["summary"], frames["clusters"], report_path=None, top=1, color=False)
    assert "Top 1 of 3 stories" in text and "… and 2 more" in text and "Report:" not in text


def test_color_uses_ansi_headings_only(frames):
    text = render_summary(frames["summary"], frames["clusters"], report_path=Path("r.html"), color=True)
    assert "\x1b[1m" in text
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert plain == render_summary(frames["summary"], frames["clusters"], report_path=Path("r.html"), color=False)


def test_untrusted_strings_cannot_drive_the_terminal(frames, payloads):
    clusters = frames["clusters"].with_columns(
        pl.when(pl.col("cluster_id") == "c-quake").then(pl.lit("\x1b]0;pwn\x07\x1b[2J\u202etxet\u2028x" + "\x9b"))
        .otherwise(pl.col("title")).alias("title"))
    text = render_summary(frames["summary"] | {"dedup_version": "1\x1b[31m"}, clusters, report_path=None,
                          color=False)
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028]", text)
    assert "txet" in text


def test_missing_summary_keys_are_counted_from_clusters(frames):
    text = render_summary({}, frames["clusters"], report_path=None, color=False)
    assert "11 records read" in text and "stories 3" in text and "duplicates removed 6" in text
    assert "from" not in text.splitlines()[0]


def test_no_stories(frames):
    singles = frames["clusters"].filter(pl.col("cluster_size") == 1)
    text = render_summary({}, singles, report_path=None, color=False)
    assert "No story was carried by more than one article." in text


def test_columns_are_measured_in_terminal_cells():
    assert cells("abc") == 3 and cells("東京") == 4 and cells("e\u0301") == 1
    assert cells(fit("東京東京東京", 7)) == 7 and fit("東京東京東京", 7) == "東京東…"
    assert fit("short", 8) == "short   "
    assert safe_line("a\nb\tc") == "a b c"
