"""Retake the README's two report screenshots from the sample corpus.

    python docs/screenshots.py

Runs ``dedup cluster`` on ``examples/sample-corpus`` into a temporary folder,
opens its ``report.html`` in headless Chromium (Debian's ``/usr/bin/chromium``,
driven by Playwright, as the browser tests do) and writes:

* ``docs/report-overview.png`` (1440 x 900): the night's numbers, the story list
  and the first story's outlets table;
* ``docs/report-story.png`` (1440 x 1500): the same story's outlets table and its
  text compared with the Daily Ledger's version.

Retake them when the report or the alignment changes what the sample corpus shows. The sample's
Chinese and Arabic headlines need fonts for those scripts (on Debian: ``apt-get install
fonts-wqy-microhei``; Arabic is in the default fonts), or they show as boxes.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]


# Scroll the story's pane (not the page) towards its "Text" section.
_SHOW_TEXT = """() => {
  const h = [...document.querySelectorAll('h3')].find(e => e.textContent.trim() === 'Text');
  h.scrollIntoView({block: 'start', behavior: 'instant'});   // scrolls the pane and the page...
  window.scrollTo({top: 0, behavior: 'instant'});            // ...and the page back: the header shows
}"""


def main() -> int:
    from playwright.sync_api import sync_playwright

    from dedup import run

    with tempfile.TemporaryDirectory() as tmp:
        run([REPO / "examples" / "sample-corpus"], tmp)
        url = (Path(tmp) / "report.html").as_uri()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(url)
            page.wait_for_selector("html[data-ready]")
            page.locator("#stories .headline").first.click()   # the story with the most outlets
            page.wait_for_selector(".story-title")
            page.screenshot(path=REPO / "docs" / "report-overview.png")

            page.set_viewport_size({"width": 1440, "height": 1500})
            label = next(text for text in page.locator("select.pick option").all_text_contents()
                         if text.strip("\u2068\u2069").startswith("Daily Ledger"))   # names are bidi-isolated
            page.select_option("select.pick", label=label)
            page.evaluate(_SHOW_TEXT)
            page.wait_for_timeout(500)
            page.screenshot(path=REPO / "docs" / "report-story.png")
            browser.close()
    print("wrote docs/report-overview.png and docs/report-story.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
