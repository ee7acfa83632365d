"""The sentence x outlet matrix and the page's own links, in a real browser: the absent mark's contrast, the cells'
names and keyboard reach, printing a wide matrix, and the #rejects link beside an open story (skipped, as
test_report_browser, without chromium or playwright)."""

from __future__ import annotations

import pytest

from tests.report import test_report_browser as browser_tests

pytestmark = pytest.mark.browser
browser, report = browser_tests.browser, browser_tests.report   # the fixtures of the other browser tests
expect, isolated = browser_tests.expect, browser_tests.isolated

TITLE = "() => document.querySelector('.story-title')?.textContent"
FRAME = "() => new Promise(done => requestAnimationFrame(() => done()))"

#: The WCAG contrast ratio of a cell's text against the background it is drawn on (the first opaque one up).
CONTRAST = """sel => {
  const rgb = s => s.match(/[\\d.]+/g).map(Number);
  const lum = c => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const cell = document.querySelector(sel);
  let e = cell, bg = null;
  while (e && !bg) {
    const c = rgb(getComputedStyle(e).backgroundColor);
    if (c.length < 4 || c[3] > 0) bg = c;
    e = e.parentElement;
  }
  const a = lum(rgb(getComputedStyle(cell).color)), b = lum(bg || [255, 255, 255]);
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def _open_matrix(r, headline: str, show_all: bool = False) -> None:
    r.open(headline)
    r.page.click(".matrix-block summary")
    r.page.wait_for_selector("table.matrix")  # built on the details' toggle event, after the click
    if show_all:
        r.page.click(".matrix-block button.more")
        expect(r.page.locator(".matrix-wrap thead th.col")).to_have_count(
            r.page.locator(".outlets-table tbody tr").count())


def _big(report):
    frames = browser_tests._bench().synthetic_frames(n_articles=1200, n_stories=400, n_outlets=60, seed=3)
    r = report(**frames, rejects=None)
    _open_matrix(r, r.headlines()[0], show_all=True)  # the largest story: more than 40 articles
    return r


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_absent_mark_is_legible_and_quieter_than_the_letters(report, scheme):
    """WCAG 1.4.11: a meaningful mark needs 3:1 against what is around it (the '·' had 1.33:1)."""
    r = report()
    r.page.emulate_media(color_scheme=scheme)
    _open_matrix(r, "Earthquake hits coast")
    absent, kept = r.page.evaluate(CONTRAST, ".matrix td.st-x"), r.page.evaluate(CONTRAST, ".matrix td.st-k")
    assert r.page.text_content(".matrix td.st-x") == "·"
    assert 3 <= absent < kept, (absent, kept)
    r.assert_clean()


def test_each_matrix_cell_is_named_and_described_for_the_keyboard(report):
    """The tooltips were mouse-only: a focused cell now says the same in its name, and the line above the matrix
    names its outlet, time, sentence and status."""
    r = report()
    page = r.page
    _open_matrix(r, "Earthquake hits coast")
    page.focus(".matrix-block summary")
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    expect(focused).to_have_accessible_name(isolated("Reuters") + ": kept")
    for key in ("ArrowDown", "ArrowDown", "ArrowRight"):  # sentence 3, the Daily Bugle dropped it
        page.keyboard.press(key)
    expect(focused).to_have_accessible_name(isolated("Daily Bugle") + ": dropped")
    assert page.text_content(".cell-info") == (
        "Daily Bugle, 2024-05-01 07:00 UTC: dropped · 3. The quake had a magnitude of 6.1.")
    page.keyboard.press("End")
    expect(focused).to_have_accessible_name(isolated("Courier") + ": kept")
    page.keyboard.press("Control+End")  # the last row: the quote the Daily Bugle added and the Courier copied
    expect(focused).to_have_accessible_name(isolated("Courier") + ": added")
    page.locator(".matrix tbody tr").nth(3).locator("td").nth(2).click()  # a click (or a tap) describes it too
    expect(focused).to_have_accessible_name(isolated("Gazette") + ": dropped")
    assert page.text_content(".cell-info") == (
        "Gazette, 2024-05-01 08:00 UTC: dropped · 4. Rescue teams are searching collapsed buildings.")
    assert page.get_attribute(".matrix th.col >> nth=1", "aria-label") == isolated("Daily Bugle") + \
        ", 2024-05-01 07:00 UTC"  # the column header's whole name, not the clipped one on screen
    r.assert_clean()


def test_a_big_matrix_is_one_tab_stop(report):
    r = _big(report)
    page = r.page
    assert page.evaluate("() => [...document.querySelectorAll('.matrix-wrap *')].filter(e => e.tabIndex >= 0)"
                         ".length") == 1
    page.focus(".matrix-block summary")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.closest('.matrix-wrap td') !== null")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Tab")  # out of the matrix at once, whatever cell the arrows reached
    assert page.evaluate("() => document.activeElement.closest('.matrix-wrap') === null")
    page.keyboard.press("Shift+Tab")  # and back to the cell it left
    assert page.evaluate("() => document.activeElement.cellIndex") == 2
    page.keyboard.press("Control+End")  # the last cell: scrolled into view, clear of the sticky headers
    assert page.evaluate(IN_VIEW) == [True, True]
    page.keyboard.press("Control+Home")
    assert page.evaluate(IN_VIEW) == [True, True]
    r.assert_clean()


IN_VIEW = """() => {
  const td = document.activeElement, wrap = td.closest('.matrix-wrap'), cell = td.getBoundingClientRect();
  const box = wrap.getBoundingClientRect(), head = wrap.querySelector('thead').getBoundingClientRect();
  const label = td.parentNode.firstElementChild.getBoundingClientRect();
  return [cell.top >= head.bottom - 1 && cell.bottom <= box.bottom + 1,
          cell.left >= label.right - 1 && cell.right <= box.right + 1];
}"""


PRINTED_MATRIX = """() => {
  const shown = [...document.querySelectorAll('table.matrix')].filter(t => t.getClientRects().length);
  return {width: document.documentElement.clientWidth,
          right: Math.max(...shown.map(t => t.getBoundingClientRect().right)),
          columns: shown.map(t => t.querySelectorAll('th.col').length),
          rows: [...new Set(shown.map(t => t.tBodies[0].rows.length))],
          font: Math.min(...shown.map(t => parseFloat(getComputedStyle(t.querySelector('td')).fontSize)))};
}"""


def test_a_wide_matrix_prints_in_pieces_that_fit_the_paper(report):
    """A4 or Letter portrait is about 700 CSS pixels wide inside its margins: 60 columns were cut off."""
    r = _big(report)
    page = r.page
    n_articles = page.locator(".outlets-table tbody tr").count()
    n_rows = page.locator(".matrix-wrap tbody tr").count()
    page.set_viewport_size({"width": 700, "height": 900})
    page.emulate_media(media="print")
    page.evaluate(FRAME)  # media queries' change events fire in the next frame's rendering steps, before its rAF
    printed = page.evaluate(PRINTED_MATRIX)
    assert printed["right"] <= printed["width"]
    assert sum(printed["columns"]) == n_articles and len(printed["columns"]) > 1  # every column once, in pieces
    assert printed["rows"] == [n_rows]  # every piece has every sentence, its label repeated
    assert printed["font"] >= 10  # legible: not shrunk to fit
    page.emulate_media(media="screen")  # and dropped after: the page holds one copy of the matrix
    expect(page.locator(".matrix-print table")).to_have_count(0)
    r.assert_clean()


def test_the_rejects_link_shows_them_beside_the_story_and_back_returns_to_it(report):
    r = report()
    page = r.page
    r.open("Earthquake hits coast")
    story = page.evaluate("() => location.hash")
    page.click(".reasons a[href='#rejects']")
    page.wait_for_function("() => document.querySelector('#rejects').open || !document.querySelector('.story-title')")
    assert page.evaluate(TITLE) == "Earthquake hits coast"  # the story stays open
    assert page.evaluate("() => document.querySelector('#rejects').open")
    assert page.evaluate("() => location.hash") == "#rejects"
    page.select_option(".pick", label=isolated("Gazette") + " — 2024-05-01 08:00 UTC")  # what the editor was doing
    page.go_back()
    page.wait_for_function("h => location.hash === h", arg=story)
    assert page.evaluate(TITLE) == "Earthquake hits coast"
    assert page.input_value(".pick") != "all"  # the same story, as it was left: not drawn anew
    r.assert_clean()


def test_an_address_of_the_rejects_opens_them(browser, tmp_path, frames):
    from dedup.report import write_report
    path = write_report(tmp_path, **frames)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(path.as_uri() + "#rejects")
        page.wait_for_selector("html[data-ready]")
        assert page.evaluate("() => document.querySelector('#rejects').open")
    finally:
        context.close()
