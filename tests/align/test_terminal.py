"""render_diff for `dedup diff A B`."""

from __future__ import annotations

import pytest

from dedup.align import render_diff
from dedup.diffcmd import diff_articles
from dedup.errors import InputError

A = ("LONDON (Reuters) - A storm hit the south coast of England on Tuesday, cutting power to 10,000 homes. "
     "Two people died when a tree fell on their car, police said.\n\n"
     "The Met Office said gusts reached 90 mph. Schools were closed in Kent and Sussex.")
B = ("A storm hit the south coast of England on Tuesday, cutting power to 10,000 homes. "
     "Three people died when a tree fell on their car, police said.\n\n"
     "The mayor of Brighton opened a shelter. The Met Office said gusts reached 90 mph.")


def test_plain_rendering():
    out = render_diff(A, B, title_a="Reuters", title_b="Daily", color=False)
    assert out.splitlines() == [
        "--- A: Reuters",
        "+++ B: Daily",
        "- LONDON (Reuters) -",
        "  A storm hit the south coast of England on Tuesday, cutting power to 10,000 homes.",
        "~ [-Two-]{+Three+} people died when a tree fell on their car, police said.",
        "+ The mayor of Brighton opened a shelter.",
        "  The Met Office said gusts reached 90 mph.",
        "- Schools were closed in Kent and Sussex.",
        "B: 2 kept, 1 edited, 1 added, 2 dropped (A has 5 sentences)",
    ]
    assert "\x1b" not in out


def test_a_dropped_sentence_follows_the_sentence_before_it_wherever_b_moved_it():
    a = ("The council approved the budget on Monday. Taxes will rise by two percent. The mayor called it fair. "
         "Opponents plan a protest on Friday. The vote was seven to four.")
    b = ("The vote was seven to four. Opponents plan a protest on Friday. The council approved the budget on "
         "Monday. The mayor called it fair.")
    assert render_diff(a, b, title_a="Wire", title_b="Paper", color=False).splitlines()[2:7] == [
        "  The vote was seven to four.",
        "  Opponents plan a protest on Friday.",
        "  The council approved the budget on Monday.",
        "- Taxes will rise by two percent.",   # it stood after the budget sentence, not before B's lead
        "  The mayor called it fair.",
    ]


def test_colour_rendering_uses_ansi_and_never_passes_control_characters():
    out = render_diff(A, B + " Evil\x1b[2Jtext.", title_a="R\x07", title_b="D", color=True)
    assert "\x1b[32m" in out and "\x1b[31m" in out
    assert "\x1b[2J" not in out and "\x07" not in out


def test_bidi_overrides_and_line_separators_never_reach_the_terminal():
    """A right-to-left override in a title or a text would show the rest of its line reversed."""
    out = render_diff(A, B + " Power\u202e was cut\u2028again.", title_a="Wire \u202e9102 ,sgnillik 3",
                      title_b="D\u2066x\u2069", color=False)
    assert not any(c in out for c in "\u202e\u2066\u2069\u2028")
    assert out.splitlines()[0] == "--- A: Wire  9102 ,sgnillik 3"   # each run of them one space, as controls


def test_empty_texts():
    out = render_diff("", "One sentence here.", title_a="a", title_b="b", color=False)
    assert "+ One sentence here." in out
    assert out.splitlines()[-1] == "B: 0 kept, 0 edited, 1 added, 0 dropped (A has 0 sentences)"


def test_one_sentence_is_one_sentence():
    out = render_diff("One sentence here.", "One sentence here.", title_a="a", title_b="b", color=False)
    assert out.splitlines()[-1] == "B: 1 kept, 0 edited, 0 added, 0 dropped (A has 1 sentence)"


def test_an_article_longer_than_the_aligner_takes_is_unusable_input_named_a_or_b(tmp_path):
    # exit 3, in terms of A and B: not the aligner's "cluster diff" failure (exit 1, an internal error)
    long, short = tmp_path / "long.txt", tmp_path / "short.txt"
    long.write_text("Long\n" + "\n\n".join(f"Paragraph number {i} of the council minutes." for i in range(2100)))
    short.write_text("Short\nParagraph number 1 of the council minutes. Another sentence.")
    for a, b, which in ((long, short, "A"), (short, long, "B")):
        with pytest.raises(InputError, match=f"^{which} has 2,100 sentences; dedup diff compares articles of at "
                                             "most 2,000$") as caught:
            diff_articles(str(a), str(b), corpus=[], color=False)
        assert caught.value.exit_code == 3


COUNCIL = ("Storm hits the coast of Florida today. The council met on Monday. It approved the plan. "
           "Residents were told to stay indoors tonight.")
BUDGET = ("LISBON (Wire) -\n\nThe council approved a housing plan on Monday. Critics said the budget was too small\n\n"
          "for a city of this size.")
BUDGET_JOINED = BUDGET.replace("small\n\nfor", "small for")


def _diff(a: str, b: str) -> list[str]:
    return render_diff(a, b, title_a="Wire", title_b="Daily", color=False).splitlines()


def test_a_merge_of_two_a_sentences_says_so_and_counts_the_second_as_edited_not_missing():
    """B merges A's sentences 2 and 3: one B line, said to be a merge as the report says it, and the
    counts of A's 4 sentences add up to 4 (2 edited), where the merged one went uncounted."""
    out = _diff(COUNCIL, COUNCIL.replace("Monday. It approved", "Monday and approved"))
    assert out[2:] == [
        "  Storm hits the coast of Florida today.",
        "~ The council met on Monday[-. It-] {+and+} approved the plan.   (edited; two sentences merged into one)",
        "  Residents were told to stay indoors tonight.",
        "B: 2 kept, 2 edited, 0 added, 0 dropped (A has 4 sentences)",
    ]


def test_a_split_a_sentence_says_which_part_each_line_is_and_counts_once():
    out = _diff(COUNCIL, COUNCIL.replace("The council met on Monday.", "The council met. It was on Monday."))
    assert out[3:5] == ["~ The council met{+.+}   (edited; split in 2 (part 1))",
                        "~ {+It was+} on Monday.   (edited; split in 2 (part 2))"]
    assert out[-1] == "B: 3 kept, 1 edited, 0 added, 0 dropped (A has 4 sentences)"


def test_a_change_of_sentence_boundaries_alone_says_same_words():
    """The same words cut into sentences otherwise (a paragraph break inside a sentence): not an edit of
    words, as the report words it."""
    split = _diff(BUDGET_JOINED, BUDGET)
    assert split[4:6] == ["~ Critics said the budget was too small   (split in 2 (part 1), same words)",
                          "~ for a city of this size.   (split in 2 (part 2), same words)"]
    assert split[-1] == "B: 2 kept, 1 edited, 0 added, 0 dropped (A has 3 sentences)"
    merged = _diff(BUDGET, BUDGET_JOINED)
    assert merged[4] == ("~ Critics said the budget was too small for a city of this size.   "
                         "(two sentences merged into one, same words)")
    assert merged[-1] == "B: 2 kept, 2 edited, 0 added, 0 dropped (A has 4 sentences)"


def test_a_plain_edit_carries_no_note_and_the_note_is_dim_in_colour():
    assert "(" not in _diff(A, B)[4].split("police said.")[1]
    out = render_diff(COUNCIL, COUNCIL.replace("Monday. It approved", "Monday and approved"), title_a="Wire",
                      title_b="Daily", color=True)
    assert "\x1b[2m   (edited; two sentences merged into one)\x1b[0m" in out
