"""One outlet's version in a real browser: its own spelling, merged, split and joined sentences, and a
story whose articles name no outlet (skipped, as test_report_browser, without chromium or playwright)."""

from __future__ import annotations

import pytest

from tests.report import test_report_browser as browser_tests
from tests.report.test_report_versions import (
    JOINED,
    SHOUTED,
    WIRE,
    plan_frames,
    without_outlets,
)

pytestmark = pytest.mark.browser
browser, report = browser_tests.browser, browser_tests.report   # the fixtures of the other browser tests
Report = browser_tests.Report


def _pick(page: Report, outlet: str) -> None:
    """Compare the canonical text with ``outlet``'s version (``all``: every outlet on the canonical)."""
    value = "all" if outlet == "all" else page.page.evaluate(
        "name => [...document.querySelectorAll('select.pick option')].find(o => o.textContent.includes(name)).value",
        outlet)
    page.page.select_option("select.pick", value)


def _rows(page: Report) -> list[tuple[str, str]]:
    """The shown sentences as (text, margin note)."""
    sents = page.page.locator(".diff .sent")
    return [(s.locator(".txt").text_content(), s.locator(".margin").text_content()) for s in sents.all()]


def test_a_story_whose_articles_name_no_outlet_does_not_say_0_outlets(report, frames):
    page = report(**without_outlets(frames))
    row = page.page.locator("#stories .story-row", has_text="Polls open in capital")
    assert row.locator(".meta .n").text_content() == "outlet unknown"
    page.open("Polls open in capital")
    meta = page.page.locator("#story .meta").first.text_content()
    assert "outlet unknown" in meta and "0 outlets" not in meta
    quake = page.page.locator("#stories .story-row", has_text="Earthquake hits coast").locator(".meta .n")
    assert quake.text_content() == "4 outlets"
    page.assert_clean()


def test_a_kept_sentence_is_shown_as_the_outlet_wrote_it(report, frames):
    page = report(**plan_frames(frames))
    page.open("Plan (Wire)")
    _pick(page, "Kept Daily")
    assert [text for text, _note in _rows(page)] == [WIRE[0], WIRE[1], SHOUTED, WIRE[3]]
    page.assert_clean()


def test_a_sentence_merged_into_the_one_before_is_shown_as_merged_not_absent(report, frames):
    page = report(**plan_frames(frames))
    page.open("Plan (Wire)")
    notes = dict(_rows(page))
    assert "merged into the one above by Join Courier" in notes[WIRE[1]]
    assert "merged into the one above by Merge Times" in notes[WIRE[2]]
    assert "merged with the next by Merge Times" in notes[WIRE[1]]
    _pick(page, "Merge Times")
    assert [note for _text, note in _rows(page)] == ["", "edited; two sentences merged into one", ""]
    page.page.locator(".matrix-block summary").click()
    page.page.wait_for_selector("table.matrix")   # built on the details' toggle event, after the click
    cells = page.page.locator("table.matrix tbody tr").nth(2).locator("td")
    assert cells.all_text_contents() == ["K", "K", "M", "K", "K"]   # Wire, Kept Daily, Merge Times, ...
    page.assert_clean()


def test_a_change_of_sentence_boundaries_alone_says_so_instead_of_edited(report, frames):
    page = report(**plan_frames(frames))
    page.open("Plan (Wire)")
    _pick(page, "Join Courier")
    assert _rows(page)[0] == (JOINED, "two sentences merged into one, same words")
    _pick(page, "Split Herald")
    assert [note for _text, note in _rows(page)][3:] == ["split in 2 (part 1), same words",
                                                         "split in 2 (part 2), same words"]
    assert page.page.locator(".diff .sent.bounds").count() == 2
    _pick(page, "all")
    notes = dict(_rows(page))
    assert notes[WIRE[3]] == "split by Split Herald"   # no "edited by": not a word changed
    page.assert_clean()


def test_the_outlets_table_counts_each_canonical_sentence_once(report, frames):
    """A merged canonical sentence is counted edited, a split one once: each row adds up to the 4 sentences."""
    page = report(**plan_frames(frames))
    page.open("Plan (Wire)")
    cells = {row.locator("td").first.text_content(): row.locator("td.counts").text_content()
             for row in page.page.locator("table.outlets-table tbody tr").all()}
    assert cells == {"Wire canonical": "4 kept", "Kept Daily": "4 kept", "Merge Times": "2 kept, 2 edited",
                     "Join Courier": "2 kept, 2 edited", "Split Herald": "3 kept, 1 edited"}
    page.assert_clean()
