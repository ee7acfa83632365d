"""The furniture earlier nights of the window found counts tonight only if it was counted with tonight's
``furniture_min_stories`` or more: a raised setting takes effect at once, not once the window has passed."""

from __future__ import annotations

from pathlib import Path

from dedup import Config, run
from dedup.state import read_table
from tests.align.test_furniture import LOCAL, RIGHTS
from tests.conftest import article, make_story
from tests.state.corpus import NIGHTS, write_night


def _nights() -> tuple[list[dict], list[dict]]:
    """Night 1: three wire stories carried by the Gazette and the Ledger, every version ending with the
    rights line (printed in three stories); the Ledger copies the Gazette's local sentence in one.
    Night 2: the Times alone carries one of them late, rights line included."""
    stories = {k: make_story(300 + k, 8) for k in range(3)}
    one = []
    for k, text in stories.items():
        local = [LOCAL] if k == 1 else []
        one += [article(f"w{k}", "Wire", text, f"{NIGHTS[0]}T06:00:00Z"),
                article(f"g{k}", "Gazette", text + local + [RIGHTS], f"{NIGHTS[0]}T08:00:00Z"),
                article(f"l{k}", "Ledger", text + local + [RIGHTS], f"{NIGHTS[0]}T09:00:00Z")]
    return one, [article("t0", "Times", stories[0][:6] + [RIGHTS], f"{NIGHTS[1]}T08:00:00Z")]


def _links(root: Path, first: int, second: int) -> list[tuple]:
    """The links of night 2 of a state whose night 1 ran with ``furniture_min_stories`` ``first`` and
    night 2 with ``second``."""
    state = root / f"state-{first}-{second}"
    out = None
    for n, (records, setting) in enumerate(zip(_nights(), (first, second)), start=1):
        config = Config().replace(align={"furniture_min_stories": setting})
        out = run([write_night(root / f"in-{first}-{second}-{n}", n, records)], root / f"out-{first}-{second}-{n}",
                  state_dir=state, night=NIGHTS[n - 1], config=config)
    assert out is not None
    return sorted(out.links.select("first_article_id", "article_id", "n_sentences").rows())


def test_a_raised_furniture_setting_drops_what_earlier_nights_counted_under_a_lower_one(tmp_path):
    kept = _links(tmp_path, 3, 3)
    assert kept == []   # night 1's rights line (three stories) is furniture on night 2 too
    stored = read_table(tmp_path / "state-3-3", "furniture").collect()
    assert stored["key"].to_list() == ["all rights reserved ."]
    raised = _links(tmp_path, 3, 4)
    # with 4, the line is no outlet's furniture: the Times carries it after the Gazette and the Ledger,
    # as in a state that counted with 4 from its first night
    assert raised and raised == _links(tmp_path, 4, 4)
    assert ("g0", "t0", 1) in raised


def test_a_lowered_furniture_setting_keeps_what_earlier_nights_counted_under_a_higher_one(tmp_path):
    # a line in 3 stories or more is in 2 or more: night 1's count stands
    assert _links(tmp_path, 3, 2) == []
