"""The report in a real browser: headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

Skipped, with the reason, when the browser or the playwright package is
missing; `.ci/run` installs both. Every test also checks that the page logged
no console error, raised no exception, violated no Content-Security-Policy
directive and requested nothing but its own file.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import polars as pl
import pytest

from dedup.report import write_report
from dedup.report.model import clean

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def isolated(name: str) -> str:
    """An outlet name as the page's <option> labels and tooltips carry it: between FSI and PDI."""
    return "\u2068" + name + "\u2069"


def expect(locator):
    """Playwright's auto-waiting assertions, imported late so a missing package skips instead of failing."""
    from playwright.sync_api import expect as _expect
    return _expect(locator)


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"browser test needs Debian's chromium at {CHROMIUM} (apt-get install -y chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "browser test needs the playwright package (pip install playwright; `playwright install` is not needed)"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


class Report:
    """A page showing the report, with everything it logged and requested."""

    def __init__(self, browser, path: Path, viewport: dict):
        self.url = path.as_uri()
        self.context = browser.new_context(viewport=viewport)
        self.page = self.context.new_page()
        self.console, self.errors, self.requests, self.failed = [], [], [], {}
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("requestfailed", lambda r: self.failed.__setitem__(r.url, r.failure))
        self.page.add_init_script(WATCH)
        self.page.goto(self.url)
        self.page.wait_for_selector("html[data-ready]")

    def headlines(self) -> list[str]:
        return self.page.locator("#stories .headline").all_text_contents()

    def open(self, headline: str) -> None:
        self.page.locator("#stories .headline", has_text=headline).first.click()
        self.page.wait_for_function("t => document.querySelector('.story-title')?.textContent === t", arg=headline)

    def assert_clean(self) -> None:
        assert self.page.evaluate("window.__pwned") is None, "an injected payload ran"
        assert self.errors == []
        assert [m for m in self.console if m.startswith(("error", "warning"))] == []
        assert self.page.evaluate("window.__violations") == []
        assert {u.split("#")[0] for u in self.requests} == {self.url}


@pytest.fixture
def report(browser, tmp_path, frames):
    opened = []

    def make(viewport=None, **overrides) -> Report:
        path = write_report(tmp_path, **{**frames, **overrides})
        page = Report(browser, path, viewport or {"width": 1280, "height": 800})
        opened.append(page)
        return page

    yield make
    for page in opened:
        page.context.close()


def test_overview_lists_the_stories(report, payloads):
    r = report()
    assert r.headlines() == ["Earthquake hits coast", payloads["script"], "Polls open in capital"]
    assert r.page.text_content("#count") == "3 stories"
    assert "14 records read" in " ".join(r.page.locator("#numbers li").all_text_contents())
    r.assert_clean()


def test_clicking_a_story_shows_its_diff(report):
    r = report()
    r.open("Earthquake hits coast")
    page = r.page
    margins = page.locator(".diff .margin").all_text_contents()
    assert "dropped by Daily Bugle, Gazette" in margins and "added by Daily Bugle, Courier" in margins
    page.select_option("select.pick", label=isolated("Daily Bugle") + " — 2024-05-01 07:00 UTC")
    assert page.locator(".diff ins").all_text_contents() == [
        "hurt", '"We felt the whole building shake," a resident said.']
    assert page.locator(".diff del").all_text_contents() == ["injured", "The quake had a magnitude of 6.1."]
    assert "added · also in Courier" in page.locator(".diff .margin").all_text_contents()
    page.click(".matrix-block summary")  # the matrix is built when opened
    # the toggle event fires asynchronously: wait for the matrix rather than racing it
    expect(page.locator(".matrix tbody tr")).to_have_count(5)  # four canonical sentences, one added family
    expect(page.locator(".matrix td.st-d")).to_have_count(3)
    link = page.locator(".outlets-table a", has_text="Quake injures 12")
    assert link.get_attribute("href") == "https://bugle.example/q?id=1&x=2"
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert page.locator(".outlets-table a", has_text="Coast quake").count() == 0  # no URL, no link
    assert "first carried by Daily Bugle (1 sentence)" in page.text_content(".outlets-table")
    r.assert_clean()


def test_filtering_by_outlet(report):
    r = report()
    r.page.select_option("#outlet", label=isolated("Gazette") + " (1)")
    assert r.headlines() == ["Earthquake hits coast"]
    assert r.page.text_content("#count") == "1 of 3 stories"
    r.open("Earthquake hits coast")
    assert r.page.locator("select.pick option:checked").text_content().startswith(isolated("Gazette"))
    r.page.select_option("#outlet", label=isolated("AP") + " (1)")
    assert r.headlines() == ["Polls open in capital"]
    r.page.select_option("#outlet", value="")
    assert len(r.headlines()) == 3
    r.assert_clean()


@pytest.mark.parametrize("query, expected", [
    ("polls", ["Polls open in capital"]),            # headline
    ("MAGNITUDE", ["Earthquake hits coast"]),        # canonical text, any case
    ("resident said", ["Earthquake hits coast"]),    # an outlet's added sentence
    ("Quake injures", ["Earthquake hits coast"]),    # another outlet's title
    ("coast  resident", ["Earthquake hits coast"]),  # every word, found in different places
    ("polls resident", []),                          # ...or the story is left out
    ("no such words", []),
])
def test_search_headlines_and_text(report, query, expected):
    r = report()
    r.page.fill("#q", query)
    r.page.wait_for_function("n => document.querySelectorAll('#stories li').length === n", arg=len(expected))
    assert r.headlines() == expected
    r.assert_clean()


@pytest.mark.parametrize("diff", [
    [{"op": "=", "text": "At least 12 people were "}, {"op": "-", "text": "injured"},
     {"op": "+", "text": "wounded"}, {"op": "=", "text": ", officials said."}],  # spells the canonical: "e"
    [{"op": "=", "text": "At least 12 people were "}, {"op": "+", "text": "wounded"},
     {"op": "=", "text": ", officials said."}],  # does not: "E"
])
def test_search_finds_words_only_an_outlets_edited_sentence_has(report, frames, diff):
    rows = [{**row, "text": "At least 12 people were wounded, officials said.", "word_diff": diff}
            if row["article_id"] == "bug-1" and row["status"] == "edited" else row
            for row in frames["sentences"].to_dicts()]
    r = report(sentences=pl.DataFrame(rows, schema=frames["sentences"].schema))
    r.page.fill("#q", "wounded")
    r.page.wait_for_function("() => document.querySelectorAll('#stories li').length === 1")
    assert r.headlines() == ["Earthquake hits coast"]
    r.assert_clean()


def test_sorting_by_first_seen_time(report, payloads):
    r = report()
    r.page.select_option("#sort", "time")
    assert r.headlines() == [payloads["script"], "Polls open in capital", "Earthquake hits coast"]
    r.page.select_option("#sort", "recent")
    assert r.headlines() == ["Earthquake hits coast", "Polls open in capital", payloads["script"]]
    r.assert_clean()


def test_keyboard_navigation(report, payloads):
    r = report()
    page = r.page
    def title():
        return page.text_content(".story-title")
    page.keyboard.press("j")
    assert title() == "Earthquake hits coast"
    page.keyboard.press("j")
    assert title() == payloads["script"]
    page.keyboard.press("j")
    assert title() == "Polls open in capital"
    page.keyboard.press("j")  # stays on the last story
    assert title() == "Polls open in capital"
    page.keyboard.press("k")
    assert title() == payloads["script"]
    assert page.locator("#stories [aria-current]").text_content().startswith(payloads["script"])
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("j")  # typing in the search box does not navigate
    assert title() == payloads["script"]
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_selector(".story-title", state="detached")
    r.assert_clean()


def test_phone_layout_switches_between_list_and_story(report):
    r = report(viewport={"width": 390, "height": 844})
    page = r.page
    assert page.is_visible("#stories") and not page.is_visible("#story")
    r.open("Earthquake hits coast")
    assert page.is_visible(".story-title") and not page.is_visible("#stories")
    page.click("a.back")
    page.wait_for_selector("#stories", state="visible")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    r.assert_clean()


def test_injected_payloads_never_run_or_load_anything(report, payloads):
    r = report()
    page = r.page
    for headline in r.headlines():
        r.open(headline)
        for value in page.locator("select.pick option").evaluate_all("os => os.map(o => o.value)"):
            page.select_option("select.pick", value)
        page.click(".matrix-block summary")
        page.hover(".matrix td >> nth=0")
        assert page.get_attribute(".matrix td >> nth=0", "title")
    r.open(payloads["script"])
    assert page.text_content(".story-title") == payloads["script"]  # shown as text
    page.select_option("select.pick", index=1)  # the version that edits the broken-Unicode sentence
    assert page.locator(".diff del").all_text_contents() == [clean(payloads["broken"])]
    assert page.locator(".diff ins").all_text_contents() == [payloads["img"], payloads["close"]]
    assert payloads["close"] in page.text_content(".outlets-table")
    assert page.evaluate("document.scripts.length") == 3
    assert page.locator("img, svg, iframe, object, embed, video, audio, link, base").count() == 0
    assert page.evaluate("[...document.querySelectorAll('*')].flatMap(e => [...e.attributes])"
                         ".filter(a => a.name.startsWith('on')).length") == 0
    hrefs = page.locator("a[href]").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert all(h.startswith(("https://", "http://", "#")) for h in hrefs), hrefs
    assert page.locator(".outlets-table a").count() == 0  # javascript:/data: URLs are not links
    page.fill("#q", "pwned")
    page.wait_for_function("() => document.querySelectorAll('#stories li').length === 1")
    r.assert_clean()


def test_csp_blocks_markup_even_if_it_got_in(report):
    """Defence in depth: markup forced into the page can neither run script nor fetch anything."""
    r = report()
    r.page.evaluate("""document.body.insertAdjacentHTML('beforeend',
        '<img src="http://198.51.100.7/p.png" onerror="window.__pwned=1">' +
        '<div style="background:url(http://198.51.100.7/b.png)">x</div>');
        const s = document.createElement('script'); s.textContent = 'window.__pwned=1';
        document.body.appendChild(s);""")
    # CSP violation reports are queued events: wait for the script's and the image's instead of sleeping
    r.page.wait_for_function("window.__violations.length >= 2")
    assert r.page.evaluate("window.__pwned") is None
    remote = [u for u in r.requests if "198.51.100.7" in u]
    assert all(r.failed.get(u) == "csp" for u in remote), r.failed  # Chromium refused them before any fetch


def _bench():
    spec = importlib.util.spec_from_file_location(
        "bench_report", Path(__file__).resolve().parents[2] / "benchmarks" / "bench_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_long_lists_and_big_stories_render_in_parts(report):
    frames = _bench().synthetic_frames(n_articles=1200, n_stories=400, n_outlets=60, seed=3)
    r = report(**frames, rejects=None)
    page = r.page
    rows = "() => document.querySelectorAll('#stories .story-row').length"
    assert page.evaluate(rows) == 150  # the first chunk
    page.evaluate("() => document.querySelector('.more-row button').click()")  # "Show more"
    assert page.evaluate(rows) == 400
    page.select_option("#sort", "divergence")
    assert page.evaluate(rows) == 150
    page.wait_for_function("""() => {  // scrolling to the end of the list adds the rest
        const more = document.querySelector('.more-row');
        if (more) more.scrollIntoView();
        return document.querySelectorAll('#stories .story-row').length === 400; }""", polling=100)
    page.select_option("#sort", "size")
    r.open(r.headlines()[0])  # the largest story
    n_articles = page.locator(".outlets-table tbody tr").count()
    assert n_articles > 40
    page.click(".matrix-block summary")
    expect(page.locator(".matrix thead th.col")).to_have_count(40)
    page.click(".matrix-block button.more")
    expect(page.locator(".matrix thead th.col")).to_have_count(n_articles)
    page.select_option("#sort", "time")
    for _ in range(160):  # past the first chunk with the keyboard
        page.keyboard.press("j")
    assert page.locator("#stories [aria-current]").count() == 1
    r.assert_clean()


def test_a_story_beyond_the_cap_lists_its_outlets_and_says_why(report):
    r = report(max_articles=4)
    assert r.headlines()[0] == "Earthquake hits coast"
    r.open("Polls open in capital")  # ranked third: no detail in the page
    story = r.page.locator("#story")
    expect(story.locator(".outlet-names")).to_have_text("AP, Daily Bugle")
    expect(story.locator(".note")).to_contain_text("sentences.parquet (cluster c-vote)")
    assert story.locator(".outlets-table").count() == 0
    r.page.fill("#q", "polls")  # its headline is still searched
    r.page.wait_for_function("() => document.querySelectorAll('#stories li').length === 1")
    assert r.headlines() == ["Polls open in capital"]
    r.page.fill("#q", "")
    r.page.wait_for_function("() => document.querySelectorAll('#stories li').length === 3")
    r.open("Earthquake hits coast")
    expect(r.page.locator(".outlets-table")).to_have_count(1)
    r.assert_clean()


# For each text node under the elements matching the selector that holds the word: whether its first letter is
# laid out right of its last, i.e. the word is drawn backwards.
REVERSED = """([selector, word]) => {
  const out = [];
  for (const root of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n; (n = walker.nextNode());) {
      const i = n.data.indexOf(word);
      if (i < 0) continue;
      const r = document.createRange();
      r.setStart(n, i); r.setEnd(n, i + 1); const first = r.getBoundingClientRect().left;
      r.setStart(n, i + word.length - 1); r.setEnd(n, i + word.length); const last = r.getBoundingClientRect().left;
      out.push(first > last);
    }
  }
  return out;
}"""


def test_a_bidi_override_in_one_outlet_name_does_not_reverse_the_names_or_words_after_it(report, frames):
    """An outlet name with an unclosed RIGHT-TO-LEFT OVERRIDE: every place that lists names isolates each one."""
    evil = "\u202eDaily Bugle"
    renamed = {name: frames[name].with_columns(pl.col(c).replace({"Daily Bugle": evil}) for c in frames[name].columns
                                               if c in ("outlet", "first_outlet"))
               for name in ("clusters", "sentences", "links")}
    r = report(**renamed)
    page = r.page
    assert page.evaluate(REVERSED, ["#stories .outlets", "Gazette"]) == [False]  # Reuters, Bugle, Gazette, Courier
    assert isolated(evil) + " (2)" in page.locator("#outlet option").all_text_contents()
    r.open("Earthquake hits coast")
    assert page.evaluate(REVERSED, [".diff .margin", "Gazette"]) == [False, False]  # dropped by Bugle, Gazette
    assert page.evaluate(REVERSED, [".outlets-table td.prov", "sentence"]) == [False]  # first carried by Bugle (1 …)
    assert isolated(evil) + " — 2024-05-01 07:00 UTC" in page.locator("select.pick option").all_text_contents()
    page.click(".matrix-block summary")
    expect(page.locator(".matrix thead th.col")).to_have_count(4)
    assert all(t.startswith("\u2068") for t in page.locator(".matrix thead th.col").evaluate_all(
        "ths => ths.map(th => th.title)"))
    r.assert_clean()
    r = report(**renamed, max_articles=3)  # the quake's details are not in this page: its outlets are listed
    r.open("Earthquake hits coast")
    expect(r.page.locator(".outlet-names")).to_have_text(f"Reuters, {evil}, Gazette, Courier")
    assert r.page.evaluate(REVERSED, [".outlet-names", "Gazette"]) == [False]
    r.assert_clean()


def test_margin_notes_name_each_outlet_once_and_count_versions_apart(report, frames):
    """Outlets that sent several versions are named once; the note says how many versions when that differs."""
    from datetime import timedelta

    def versions(article_id: str, outlet: str, later: timedelta) -> dict:  # another version like Gazette's
        return {name: frames[name].filter(pl.col("article_id") == "gaz-1").with_columns(
            pl.lit(article_id).alias("article_id"), pl.lit(outlet).alias("outlet"),
            *([pl.col("published") + later] if name == "clusters" else []))
            for name in ("clusters", "sentences")}

    def with_versions(added: list[dict]) -> dict:
        return {name: pl.concat([frames[name]] + [a[name] for a in added]) for name in ("clusters", "sentences")}

    second = versions("gaz-2", "Gazette", timedelta(hours=3))
    r = report(**with_versions([second]))
    r.open("Earthquake hits coast")
    margins = r.page.locator(".diff .margin").all_text_contents()
    assert "dropped by Daily Bugle, Gazette (3 versions)" in margins  # sentence 3: Bugle, and Gazette twice
    assert "dropped by Gazette (2 versions)" in margins
    assert "added by Daily Bugle, Courier" in margins  # one version each: no count
    r.assert_clean()
    many = [versions(f"o{o}-{v}", f"Outlet {o}", timedelta(hours=4, minutes=2 * o + v)) for o in range(9)
            for v in range(2)]
    r = report(**with_versions([second, *many]))
    r.open("Earthquake hits coast")
    note = r.page.locator(".diff .margin").filter(has_text="dropped by 10 outlets")
    expect(note).to_have_text("dropped by 10 outlets (20 versions): Gazette, Outlet 0, Outlet 1, Outlet 2, "
                              "Outlet 3, Outlet 4, … +4 more", use_inner_text=True)
    more = note.locator("button")  # the other names without a mouse: keyboard, touch
    expect(more).to_have_text("+4 more")
    more.focus()
    r.page.keyboard.press("Enter")
    outlets = ["Gazette"] + [f"Outlet {o}" for o in range(9)]
    expect(note).to_have_text("dropped by " + ", ".join(outlets) + " (20 versions) fewer names", use_inner_text=True)
    assert more.get_attribute("aria-expanded") == "true"
    more.click()
    expect(more).to_have_text("+4 more")
    r.page.emulate_media(media="print")  # on paper, every name
    expect(note).to_have_text("dropped by " + ", ".join(outlets) + " (20 versions)", use_inner_text=True)
    r.assert_clean()


def test_a_wrapped_right_to_left_title_in_the_outlets_table_is_aligned_right(report, frames):
    """The title cell takes the title's direction: the lines of an Arabic title that wraps end at the cell's
    right edge, as a right-to-left paragraph's do (only the link inside was oriented: lines ran from the left)."""
    arabic = "وزارة النقل تطلق أول خط للحافلات الكهربائية في عمان بين وسط المدينة والجامعة الأردنية " * 2
    clusters = frames["clusters"].with_columns(pl.col("title").replace({"Quake injures 12": arabic.strip()}))
    r = report(viewport={"width": 900, "height": 800}, clusters=clusters)
    r.open("Earthquake hits coast")
    gaps = r.page.evaluate("""() => [...document.querySelectorAll('#story .outlets-table td.title')]
        .filter(td => td.textContent.startsWith('وزارة')).map(td => {
          const title = td.firstElementChild, range = document.createRange(), style = getComputedStyle(td);
          range.selectNodeContents(title);
          const lines = [...range.getClientRects()].filter(x => x.width > 0);
          const right = td.getBoundingClientRect().right - parseFloat(style.paddingRight);
          return {dir: getComputedStyle(title).direction, lines: lines.length,
                  gaps: lines.map(x => Math.round(right - x.right))};
        })""")
    assert len(gaps) == 1 and gaps[0]["lines"] > 1, gaps  # the title wraps
    assert gaps[0]["dir"] == "rtl" and max(gaps[0]["gaps"]) <= 2, gaps
    blank = r.page.evaluate("""() => [...document.querySelectorAll('#story .outlets-table td.title')]
        .filter(td => td.querySelector('a') && !td.textContent.startsWith('وزارة')).map(td => {
          const box = td.getBoundingClientRect(), text = td.firstElementChild.getBoundingClientRect();
          if (box.right - text.right < 20) return null;   // no blank beside it
          return document.elementFromPoint(box.right - 8, text.top + text.height / 2).closest('a') === null;
        }).filter(x => x !== null)""")
    assert blank and all(blank), blank   # the blank of the cell beside a short title is no link
    r.assert_clean()


def test_copied_later_by_names_each_outlet_once(report, frames):
    """Two versions of one outlet that took the same addition: "copied later by Courier (2 versions)"."""
    from datetime import timedelta
    second = {name: frames[name].filter(pl.col("article_id") == "cou-1").with_columns(
        pl.lit("cou-2").alias("article_id"), *([pl.col("published") + timedelta(hours=5)] if name == "clusters" else []))
        for name in ("clusters", "sentences", "links")}
    r = report(**{name: pl.concat([frames[name], second[name]]) for name in second})
    r.open("Earthquake hits coast")
    prov = r.page.locator(".outlets-table td.prov").all_text_contents()
    assert "copied later by Courier (2 versions)" in prov, prov
    r.assert_clean()
