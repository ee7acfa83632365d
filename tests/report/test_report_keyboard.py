"""The report as editors use it, in a real browser: keyboard focus, arrow keys, the one-column layout,
insertions without colour, right-to-left text, print, the matrix's headers (skipped, as test_report_browser,
without chromium or playwright)."""

from __future__ import annotations

import polars as pl
import pytest

from tests.report import test_report_browser as browser_tests

pytestmark = pytest.mark.browser
browser, report = browser_tests.browser, browser_tests.report   # the fixtures of the other browser tests
expect, isolated = browser_tests.expect, browser_tests.isolated

ACTIVE = "document.activeElement.closest('#story') ? 'story: ' + document.activeElement.className" \
         " : document.activeElement.className || document.activeElement.tagName"
TITLE = "() => document.querySelector('.story-title')?.textContent"
SHOWN = "t => document.querySelector('.story-title')?.textContent === t"


def _focus_row(page, headline: str) -> None:
    page.locator("#stories .story-link", has_text=headline).first.focus()


def test_opening_a_story_moves_the_focus_into_it_and_closing_it_back_to_its_row(report, payloads):
    r = report()
    page = r.page
    _focus_row(page, "Polls open in capital")
    page.keyboard.press("Enter")
    page.wait_for_function(SHOWN, arg="Polls open in capital")
    assert page.evaluate(ACTIVE) == "story: story-title u"  # announced, and Tab goes on into the story
    page.keyboard.press("Tab")
    assert page.evaluate(ACTIVE).startswith("story: ")
    page.keyboard.press("Escape")
    page.wait_for_selector(".story-title", state="detached")
    assert page.evaluate("document.activeElement.textContent").startswith("Polls open in capital")
    page.keyboard.press("k")  # the last story, then the one before: j/k focus the story they open, so that
    page.keyboard.press("k")  # Enter does not reopen the row focused before
    assert page.evaluate(TITLE) == payloads["script"]
    assert page.evaluate(ACTIVE) == "story: story-title u"
    page.keyboard.press("Escape")
    page.wait_for_selector(".story-title", state="detached")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#story=c-payload"
    r.assert_clean()


def test_the_back_link_of_the_one_column_layout_returns_the_focus_to_the_row(report):
    r = report(viewport={"width": 390, "height": 844})
    page = r.page
    _focus_row(page, "Earthquake hits coast")
    page.keyboard.press("Enter")
    page.wait_for_function(SHOWN, arg="Earthquake hits coast")
    assert page.evaluate(ACTIVE) == "story: story-title u"
    page.focus("a.back")
    page.keyboard.press("Enter")
    page.wait_for_selector(".story-title", state="detached")
    assert page.evaluate("document.activeElement.textContent").startswith("Earthquake hits coast")
    r.assert_clean()


def test_a_story_opened_on_first_load_leaves_the_focus_alone(report):
    r = report()
    r.page.goto(r.url + "#story=c-quake")  # a change of the address's fragment: the story is opened, not loaded
    r.page.reload()
    r.page.wait_for_function(SHOWN, arg="Earthquake hits coast")
    assert r.page.evaluate("document.activeElement === document.body")
    r.assert_clean()


def test_arrow_keys_scroll_and_only_j_k_change_the_story(report):
    r = report(viewport={"width": 1280, "height": 400})  # a story taller than its pane
    page = r.page
    page.keyboard.press("ArrowDown")  # nothing open: the arrows do not open a story
    assert page.evaluate(TITLE) is None
    page.keyboard.press("j")
    assert page.evaluate(TITLE) == "Earthquake hits coast"
    assert page.evaluate("document.getElementById('story').scrollTop") == 0
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    assert page.evaluate(TITLE) == "Earthquake hits coast"
    page.wait_for_function("() => document.getElementById('story').scrollTop > 0")  # scrolled as browsers do
    page.locator(".outlets-table a").first.focus()
    page.keyboard.press("ArrowUp")
    assert page.evaluate(TITLE) == "Earthquake hits coast"
    _focus_row(page, "Polls open in capital")
    page.keyboard.press("ArrowUp")
    assert page.evaluate(TITLE) == "Earthquake hits coast"
    assert "↓" not in page.text_content("footer .keys") and "j</kbd>/<kbd>k" in page.inner_html("footer .keys")
    r.assert_clean()


def test_one_column_layout_opens_a_story_at_its_top_and_goes_back_to_where_the_list_was(report):
    r = report(viewport={"width": 800, "height": 600}, **browser_tests._bench().synthetic_frames(
        n_articles=600, n_stories=200, n_outlets=30, seed=5), rejects=None)
    page = r.page
    link = page.locator("#stories .story-link").nth(100)
    link.scroll_into_view_if_needed()
    list_y = page.evaluate("scrollY")
    assert list_y > 2000
    link.click()
    page.wait_for_selector(".story-title")
    top = page.evaluate("document.querySelector('.story-title').getBoundingClientRect().top")
    assert 0 <= top < 600, "the story's title is on screen"
    page.click("a.back")
    page.wait_for_selector(".story-title", state="detached")
    assert page.evaluate("scrollY") == list_y
    r.assert_clean()


INS_STYLE = """() => { const s = getComputedStyle(document.querySelector('.diff .sent.edited ins'));
  return [s.textDecorationLine, s.printColorAdjust]; }"""


@pytest.mark.parametrize("media, forced_colors, adjust", [
    ("screen", "none", "economy"), ("screen", "active", "economy"), ("print", "none", "exact")])
def test_inserted_words_are_underlined_not_only_coloured(report, media, forced_colors, adjust):
    r = report()
    r.open("Earthquake hits coast")
    r.page.select_option("select.pick", label=isolated("Daily Bugle") + " — 2024-05-01 07:00 UTC")
    r.page.emulate_media(media=media, forced_colors=forced_colors)
    assert r.page.evaluate(INS_STYLE) == ["underline", adjust]
    r.assert_clean()


# a Hebrew story whose title, outlet name and sentences open with a Latin name
HE_TITLE, HE_OUTLET = "Google תפתח מרכז פיתוח בחיפה", "Ynet ידיעות אחרונות"
HE_FIRST = "Google הודיעה היום על פתיחת מרכז פיתוח חדש בחיפה."
HE_EDITED = "Google מסרה היום על פתיחת מרכז פיתוח חדש בחיפה."
HE_SECOND, HE_ADDED = "ראש העירייה אמר כי מדובר בבשורה גדולה.", "TheMarker פנה לחברה לקבלת תגובה."


def _hebrew(frames: dict) -> dict:
    """The vote story in Hebrew: AP is renamed HE_OUTLET, and Daily Bugle edits the first sentence."""
    vote = ["Voters went to the polls in the capital.", "Turnout was higher than expected."]
    texts = {vote[0]: HE_FIRST, vote[1]: HE_SECOND, "Results are due on Friday.": HE_ADDED}
    in_vote = pl.col("cluster_id") == "c-vote"
    clusters = frames["clusters"].with_columns(
        pl.when(in_vote).then(pl.lit(HE_TITLE)).otherwise(pl.col("title")).alias("title"),
        pl.when(in_vote & (pl.col("outlet") == "AP")).then(pl.lit(HE_OUTLET)).otherwise(pl.col("outlet"))
        .alias("outlet"))
    diff = [{"op": "=", "text": "Google "}, {"op": "-", "text": "הודיעה"}, {"op": "+", "text": "מסרה"},
            {"op": "=", "text": HE_FIRST[len("Google הודיעה"):]}]
    rows = []
    for row in frames["sentences"].to_dicts():
        if row["cluster_id"] == "c-vote":
            row = {**row, "text": texts[row["text"]]}
            if row["position"] == 0:
                row.update(status="edited", text=HE_EDITED, similarity=0.8, word_diff=diff)
        rows.append(row)
    return {"clusters": clusters, "sentences": pl.DataFrame(rows, schema=frames["sentences"].schema)}


DIRECTIONS = "es => es.map(e => [e.textContent, getComputedStyle(e).direction])"


def test_right_to_left_text_opening_with_a_latin_name_is_laid_out_right_to_left(report, frames):
    r = report(**_hebrew(frames))
    page = r.page
    row = page.locator("#stories .story-row", has_text=HE_TITLE)
    assert row.locator(".headline, .first").evaluate_all(DIRECTIONS) == [[HE_TITLE, "rtl"], [HE_OUTLET, "rtl"]]
    assert "\u2067" + HE_OUTLET + "\u2069 (1)" in page.locator("#outlet option").all_text_contents()
    r.open(HE_TITLE)
    titles = page.locator(".story-title, .outlets-table td.title a")  # the story's, AP's and Daily Bugle's
    assert titles.evaluate_all(DIRECTIONS) == [[HE_TITLE, "rtl"]] * 3
    texts = [[HE_FIRST, "rtl"], [HE_SECOND, "rtl"], [HE_ADDED, "rtl"]]
    assert page.locator(".diff .txt").evaluate_all(DIRECTIONS) == texts
    page.select_option("select.pick", index=1)  # Daily Bugle's version: the word diff
    edited = page.locator(".diff .sent.edited .txt")  # its text: kept, deleted and inserted words
    assert edited.evaluate_all(DIRECTIONS) == [["Google הודיעהמסרה" + HE_FIRST[len("Google הודיעה"):], "rtl"]]
    r.open("Earthquake hits coast")  # Latin text: dir="auto" everywhere, as before
    latin = page.locator("#story [dir]").evaluate_all("es => es.map(e => e.dir)") + page.locator(
        "#stories .story-row", has_text="Earthquake hits coast").locator("[dir]").evaluate_all("es => es.map(e => e.dir)")
    assert len(latin) > 20 and set(latin) == {"auto"}
    r.assert_clean()


PRINTED = """() => {
  const story = document.getElementById('story'), shown = e => getComputedStyle(e).display !== 'none';
  return {footer: shown(document.querySelector('footer')), list: shown(document.querySelector('.list-pane')),
          back: shown(document.querySelector('.back')), story_cut: story.scrollHeight - story.clientHeight,
          table_cut: [...story.querySelectorAll('.table-wrap')].map(e => e.scrollWidth - e.clientWidth)}; }"""


@pytest.mark.parametrize("width", [1100, 700])  # landscape: two panes on screen; portrait: one column
def test_printing_a_story_prints_it_whole(report, width):
    r = report(viewport={"width": width, "height": 400})
    r.open("Earthquake hits coast")
    r.page.emulate_media(media="print")
    printed = r.page.evaluate(PRINTED)
    assert printed == {"footer": False, "list": False, "back": False, "story_cut": 0, "table_cut": [0]}
    r.assert_clean()


MATRIX_CORNER = """() => {
  const wrap = document.querySelector('.matrix-wrap'), box = wrap.getBoundingClientRect();
  wrap.scrollTop = wrap.scrollHeight; wrap.scrollLeft = wrap.scrollWidth;
  const last = wrap.querySelector('tbody tr:last-child'), seen = e => { const r = e.getBoundingClientRect();
    return r.right > box.left && r.left < box.right && r.bottom > box.top && r.top < box.bottom; };
  return [seen(last.lastElementChild), seen(last.firstElementChild), seen(wrap.querySelector('thead th:last-child'))];
}"""


def test_the_matrix_keeps_its_sentence_and_outlet_headers_in_view(report):
    r = report(**browser_tests._bench().synthetic_frames(n_articles=1200, n_stories=400, n_outlets=60, seed=3),
               rejects=None)
    page = r.page
    r.open(r.headlines()[0])  # the largest story
    page.click(".matrix-block summary")
    page.click(".matrix-block button.more")
    expect(page.locator(".matrix thead th.col")).to_have_count(page.locator(".outlets-table tbody tr").count())
    assert page.evaluate(MATRIX_CORNER) == [True, True, True]  # the last cell, its sentence, its outlet
    r.assert_clean()


def test_the_canonical_tag_is_a_word_apart_from_the_outlet_name(report):
    r = report()
    r.open("Earthquake hits coast")
    assert r.page.locator(".outlets-table tbody td").first.text_content() == "Reuters canonical"
    r.assert_clean()


#: Headlines as outlets write them: a Latin name (long) and right-to-left words (short: vowels unwritten).
DIRECTION_CASES = {"Google הודיעה…": "rtl", "Apple משיקה את iPhone 16": "rtl", "Microsoft רוכשת את Activision": "rtl",
                   "Google تطلق خدمة Gemini": "rtl", "Earthquake hits coast": "auto", "שלום means hello in Hebrew": "ltr",
                   "Netanyahu met Biden, said שלום": "auto", "أول خط للحافلات الكهربائية": "auto", "123 - !": "auto"}


def test_a_texts_direction_is_that_of_most_of_its_words(browser):
    """Counted in letters, "Apple משיקה את iPhone 16" was Latin (17 letters against 8): left to right."""
    import re
    from importlib import resources

    source = (resources.files("dedup.report") / "static" / "report-core.js").read_text(encoding="utf-8")
    direction = re.search(r"var RTL_CHAR[\s\S]*?\n}\n", source).group(0)
    page = browser.new_page()   # about:blank: no CSP, so the function can be evaluated alone
    try:
        got = page.evaluate("([src, texts]) => { const f = new Function(src + '; return direction;')();"
                            " return texts.map(f); }", [direction, list(DIRECTION_CASES)])
    finally:
        page.close()
    assert dict(zip(DIRECTION_CASES, got)) == DIRECTION_CASES


def test_every_margin_note_prints(report):
    """A note of eight outlets or fewer is all its names: it was the short form, which print hides."""
    r = report()
    r.open("Earthquake hits coast")
    r.page.emulate_media(media="print")
    notes = r.page.evaluate("() => [...document.querySelectorAll('.margin span.names-all, .margin span.names-short')]"
                            ".map(e => getComputedStyle(e).display !== 'none')")
    assert notes and all(notes)
    r.assert_clean()
