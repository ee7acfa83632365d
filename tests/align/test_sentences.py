"""Sentence splitting: news abbreviations, layout boundaries, exact spans."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.align.sentences import (
    _split_dateline,
    is_hard_wrapped,
    layout_segments,
    split_many,
    split_sentences,
)
from dedup.errors import ConfigError
from dedup.normalize import IGNORABLE_RE


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


@pytest.mark.parametrize("text", [
    "Mr. Smith met Dr. Jones in the U.S. capital on Jan. 5 to discuss the $3.5 billion deal.",
    "Shares of Acme Inc. closed at $12.50, down 0.8 percent, on the New York Stock Exchange.",
    "\"We will fight this in court,\" said Gov. John Bel Edwards of Louisiana on Monday.",
    "The company, based in St. Louis, employs 1,200 people and sells to the U.K. and the U.N.",
])
def test_abbreviations_and_decimals_do_not_split(text):
    assert sentences(text) == [text]


def test_dateline_is_one_segment_and_the_sentence_after_it_is_intact():
    # the dateline is cut off whole (not at the dash of "52-48", not after "U.S.")
    text = "WASHINGTON (Reuters) - The U.S. Senate voted 52-48 on Thursday to confirm the nominee."
    after = "The U.S. Senate voted 52-48 on Thursday to confirm the nominee."
    assert [text[a:b].strip() for a, b in layout_segments(text)] == ["WASHINGTON (Reuters) -", after]
    assert sentences(text) == ["WASHINGTON (Reuters) -", after]
    # a dateline opening a later paragraph: cut inside that paragraph, offsets into the whole text
    text = "Intro line.\n\n  LISBON, Jan. 5, 2024 (Meridian Press) \u2014 Fares rose."
    start, cut = text.index("  LISBON"), text.index("Fares")
    assert _split_dateline(text, (start, len(text))) == [(start, cut), (cut, len(text))]
    assert sentences(text) == ["Intro line.", "LISBON, Jan. 5, 2024 (Meridian Press) \u2014", "Fares rose."]


@pytest.mark.parametrize("text, pieces", [
    # a capitalised place, then a date and/or a bracketed source, then a dash: split after the dash
    ("LONDON, March 3 - Shares fell.", ["LONDON, March 3 - ", "Shares fell."]),
    ("BEIJING (Reuters) - Exports rose 5.2 percent in March.",
     ["BEIJING (Reuters) - ", "Exports rose 5.2 percent in March."]),
    ("HAMBURG (The Cedar Times) - The port reopened on Monday.",
     ["HAMBURG (The Cedar Times) - ", "The port reopened on Monday."]),
    # the place's state or country, as AP and others write it
    ("VERONA, Italy (Northwire) - Workers found a wall.", ["VERONA, Italy (Northwire) - ", "Workers found a wall."]),
    ("SPRINGFIELD, Ill., Jan. 5 (AP) \u2014 The vote passed.",
     ["SPRINGFIELD, Ill., Jan. 5 (AP) \u2014 ", "The vote passed."]),
    ("PARIS, Texas - A fire broke out.", ["PARIS, Texas - A fire broke out."]),   # no date, no source
    # no split
    ("U.S. - China talks resumed.", ["U.S. - China talks resumed."]),          # no date, no source
    ("NEW YORK - Stocks rose.", ["NEW YORK - Stocks rose."]),                  # no date, no source
    ("The vote - a surprise to many - passed 52-48.",                         # dashes inside a sentence
     ["The vote - a surprise to many - passed 52-48."]),
    ("WASHINGTON (Reuters) -", ["WASHINGTON (Reuters) -"]),                    # nothing after the dateline
    # scripts without capitals: a place and a bracketed source (ASCII or full-width), then a dash
    ("عمّان (ميريديان برس) - بدأت الحافلات العمل.", ["عمّان (ميريديان برس) - ", "بدأت الحافلات العمل."]),
    ("杭州（北风通讯社）- 图书馆试行24小时开放。", ["杭州（北风通讯社）- ", "图书馆试行24小时开放。"]),
    ("Москва (Интерфакс) — Акции выросли.", ["Москва (Интерфакс) — ", "Акции выросли."]),
    # a cased script's place is upper case as in the Latin rule: in capitals, or one capitalised word
    ("МОСКВА (Интерфакс) — Акции выросли.", ["МОСКВА (Интерфакс) — ", "Акции выросли."]),
    ("ΑΘΗΝΑ (Reuters) – Η ανάπτυξη θα είναι 2%.", ["ΑΘΗΝΑ (Reuters) – ", "Η ανάπτυξη θα είναι 2%."]),
    ("Банк России (ЦБ) — сообщил в пятницу.", ["Банк России (ЦБ) — сообщил в пятницу."]),
    ("Министр финансов Антон Силуанов (на фото) — заявил.", ["Министр финансов Антон Силуанов (на фото) — заявил."]),
    ("Η Τράπεζα της Ελλάδος (ΤτΕ) – ανακοίνωσε.", ["Η Τράπεζα της Ελλάδος (ΤτΕ) – ανακοίνωσε."]),
    ("თბილისი (ინტერპრესნიუსი) - ტექსტი.", ["თბილისი (ინტერპრესნიუსი) - ", "ტექსტი."]),   # Georgian: not capitalised
    # a Chinese dispatch line with its reporter, a Japanese bracketed one
    ("新华社北京11月28日电（记者 张三）国务院今天宣布。", ["新华社北京11月28日电（记者 张三）", "国务院今天宣布。"]),
    ("【ワシントン=共同】米政府は28日、発表した。", ["【ワシントン=共同】", "米政府は28日、発表した。"]),
    # no split: no dash after the brackets, a one-character aside, nothing after the dateline
    ("他说（记者问）不是这样。", ["他说（记者问）不是这样。"]),
    ("他说（笑）- 不是。", ["他说（笑）- 不是。"]),
    ("“Quote (AP) - x", ["“Quote (AP) - x"]),
    ("【ワシントン=共同】", ["【ワシントン=共同】"]),
])
def test_split_dateline(text, pieces):
    spans = _split_dateline(text, (0, len(text)))
    assert [text[a:b] for a, b in spans] == pieces
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(b == a for (_, b), (a, _) in zip(spans, spans[1:]))


def test_two_sentences_after_abbreviations():
    text = "Mr. Smith, 54, told reporters he would not resign. \"I have done nothing wrong,\" he said."
    assert sentences(text) == ["Mr. Smith, 54, told reporters he would not resign.",
                               "\"I have done nothing wrong,\" he said."]


def test_spans_are_exact_and_stripped():
    text = "  BEIJING (Reuters) - Exports rose 5.2%.  Imports fell.\n\n  Follow us on Twitter @desk \n"
    spans = split_sentences(text)
    got = [text[a:b] for a, b in spans]
    assert got == ["BEIJING (Reuters) -", "Exports rose 5.2%.", "Imports fell.", "Follow us on Twitter @desk"]
    assert spans == [(2, 21), (22, 40), (42, 55), (59, 85)]
    assert all(s == s.strip() for s in got)
    assert [a for a, _ in spans] == sorted(a for a, _ in spans)


def test_blank_line_is_a_hard_boundary():
    # no full stop before the blank line: without the layout layer this would be one sentence
    text = "The minister said the plan would go ahead\n\nCritics were not convinced."
    assert sentences(text) == ["The minister said the plan would go ahead", "Critics were not convinced."]


def test_embed_lines_and_bullets_stand_alone():
    text = ("The plan includes:\n• A tax cut for families\n• New funding for schools\n"
            "Follow us on Twitter @NewsDesk\nHer successor will be named next week.")
    assert sentences(text) == ["The plan includes:", "• A tax cut for families", "• New funding for schools",
                               "Follow us on Twitter @NewsDesk", "Her successor will be named next week."]


def test_hard_wrapped_wire_copy_is_reflowed():
    text = ("    Shares of Acme Corp rose 5 pct on Monday after the company\n"
            "said first-quarter profit would beat forecasts by a wide\n"
            "margin. Analysts said the news was a surprise to\n"
            "the market.\n"
            "    The company also said it would pay a dividend of 10\n"
            "cts a share.")
    assert is_hard_wrapped(text)
    got = sentences(text)
    assert len(got) == 3
    assert got[0].startswith("Shares of Acme") and got[0].endswith("wide\nmargin.")
    assert got[2].startswith("The company also")


def test_paragraph_per_line_text_is_not_hard_wrapped():
    text = "\n".join(["The storm hit the coast on Tuesday and cut power to thousands of homes in the region."] * 5)
    assert not is_hard_wrapped(text)


def test_empty_and_blank_texts():
    assert split_sentences("") == []
    assert split_sentences(" \n\n \t") == []


def test_unknown_splitter_is_refused():
    with pytest.raises(ConfigError, match="unknown sentence splitter"):
        split_sentences("A sentence.", splitter="nope")


_words = st.sampled_from(["Mr.", "U.S.", "said", "the", "3.5", "Jan.", "\"Yes.\"", "rose", "(Reuters)", "-",
                          "Dr.", "percent.", "Why?", "•", "\n", "\n\n", "  ", "Follow", "It"])


@settings(max_examples=150, deadline=None)
@given(st.lists(_words, max_size=40).map(" ".join))
def test_spans_cover_every_visible_character_once(text):
    spans = split_sentences(text)
    covered = [False] * len(text)
    previous_end = 0
    for a, b in spans:
        assert previous_end <= a < b <= len(text)
        assert text[a:b] == text[a:b].strip()
        for k in range(a, b):
            covered[k] = True
        previous_end = b
    assert all(covered[k] or text[k].isspace() for k in range(len(text)))


@settings(max_examples=200, deadline=None)
@given(st.lists(_words, max_size=40).map(" ".join))
def test_the_nupunkt_backend_proposes_the_starts_of_nupunkt_sent_spans(text):
    # the backend reads nupunkt's span_tokenize, not tokenize_with_spans (what nupunkt.sent_spans
    # reads): the same sentence starts (the contiguous spans start where span_tokenize's do; an empty
    # result is a start at 0, added anyway)
    from dedup.align.sentences import _backend, nupunkt_tokenizer

    segment = text.replace("\n", " ")
    starts = {0, *(c for c in _backend("nupunkt")(segment) if 0 < c < len(segment))}
    spans = nupunkt_tokenizer().tokenize_with_spans(segment)
    assert starts == {0, *(a for _, (a, _) in spans if 0 < a < len(segment))}


def test_a_dateline_after_any_white_space_is_found():
    # the dateline's lead is skipped, and a line's visible character found, by regular expressions:
    # \s must be exactly str.isspace() (what strip() uses)
    import re

    space = re.compile(r"\s")
    assert all((space.match(chr(c)) is not None) == chr(c).isspace() for c in range(0x110000))
    for space in (" ", "\t", "\u00a0", "\u2003", "\u3000", "\x1f"):
        text = f"{space}LISBON (Meridian Press) - The port reopened on Monday."
        assert _split_dateline(text, (0, len(text)))[0] == (0, len(f"{space}LISBON (Meridian Press) - "))


def test_split_many_is_split_sentences_on_repeated_and_reflowed_paragraphs():
    # the memo holds each segment's sentences relative to the segment: a paragraph met again at
    # another offset, after other line breaks, or as the last line of a hard-wrapped text
    para = "Mr. Smith left on Jan. 5. He was 54.\r\nHe said: \"Never.\"  "
    wrapped = "\n".join(["The wire copy is wrapped at a width of about sixty chars so"] * 4)
    texts = [para, "Intro line.\n\n" + para, "\n" + para + "\n\n" + para, wrapped + "\n" + para, para.strip()]
    assert split_many(texts) == [split_sentences(t) for t in texts]
    assert split_many(texts[1:2]) == [split_sentences(texts[1])]


def test_chinese_and_japanese_sentences_end_at_full_width_marks():
    zh = ("图书馆试行24小时开放。馆内安装了监控摄像头。“我们很高兴！”馆长说。她说：“这是唯一安静的时间。”"
          "读者很多吗？是的！“好！”，他说，然后离开了")
    assert sentences(zh) == ["图书馆试行24小时开放。", "馆内安装了监控摄像头。",
                             "“我们很高兴！”馆长说。",          # a quote runs on into its attribution
                             "她说：“这是唯一安静的时间。”",    # a full stop inside the quote ends the sentence
                             "读者很多吗？", "是的！",
                             "“好！”，他说，然后离开了"]         # never before a comma
    ja = "廃校をホテルに再生した。初日は約100人が集まった！　社長は「場所にしたい。」と話した。"
    assert sentences(ja) == ["廃校をホテルに再生した。", "初日は約100人が集まった！", "社長は「場所にしたい。」と話した。"]
    # mixed with English, and the same spans whether or not the memo of segments is used
    mixed = "Beijing said on Monday it would act. 北京周一表示将采取行动。Markets rose."
    assert sentences(mixed)[-2:] == ["北京周一表示将采取行动。", "Markets rose."]
    assert split_many([zh, ja, mixed, zh]) == [split_sentences(t) for t in (zh, ja, mixed, zh)]


def test_danda_urdu_and_arabic_marks_end_sentences():
    hi = "कीमतें 12 प्रतिशत बढ़ीं। उन्होंने कहा, \"हम तैयार हैं।\" परामर्श जनवरी में होगा॥ अंत"
    assert sentences(hi) == ["कीमतें 12 प्रतिशत बढ़ीं।", "उन्होंने कहा, \"हम तैयार हैं।\"",   # with its closing quote
                             "परामर्श जनवरी में होगा॥", "अंत"]
    ur = "بندرگاہ پر کام شروع ہوا۔ کیا یہ کافی ہے؟ «ہاں؟» انہوں نے کہا۔"
    assert sentences(ur) == ["بندرگاہ پر کام شروع ہوا۔", "کیا یہ کافی ہے؟", "«ہاں؟»", "انہوں نے کہا۔"]
    # a mark with no space after it (a number, a word run on) is no end
    assert sentences("अनुच्छेद ३।२ लागू है।") == ["अनुच्छेद ३।२ लागू है।"]
    for text in (hi, ur, hi + "\n\n" + ur):   # exact spans: stripped, every visible character once
        spans = split_sentences(text)
        covered = [k for a, b in spans for k in range(a, b)]
        assert all(text[a:b] == text[a:b].strip() for a, b in spans) and covered == sorted(set(covered))
        assert all(k in covered or text[k].isspace() for k in range(len(text)))
    assert split_many([hi, ur, hi]) == [split_sentences(t) for t in (hi, ur, hi)]


def test_a_paragraph_or_sentence_of_invisible_characters_only_is_no_sentence():
    # WordPress writes <p>&#8203;</p>; a lone BOM or soft hyphen: nothing to compare, so no sentence
    for blank in ("\u200b", "\ufeff", "\u00ad", " \u200b\u2060 "):
        text = f"The port reopened.\n\n{blank}\n\nShips came back."
        assert sentences(text) == ["The port reopened.", "Ships came back."]
        assert sentences(blank) == []
        assert sentences(f"WASHINGTON (Reuters) - {blank}") == ["WASHINGTON (Reuters) -"]   # after a dateline
        assert sentences(f"Ships came back. {blank}") == ["Ships came back."]   # after a sentence
    # inside a sentence they stay: its span is exact
    assert sentences("Ships\u00ad came back. \u200bThe port reopened.") == [
        "Ships\u00ad came back.", "\u200bThe port reopened."]


@pytest.mark.parametrize("mark", ["\u200b", "\u00ad", "\u2060", "\ufeff"])
def test_invisible_characters_change_no_boundary(mark):
    """The library sees the text as it reads: an invisible character before an abbreviation (WordPress opens a
    paragraph with a zero-width space) cut after "Dr.", one after a full stop hid the sentence's end."""
    text = "Dr. Ana Costa heads the committee. Gov. Reyes agreed on Sept. 4 with the U.S. envoy. It was late."
    plain = sentences(text)
    assert len(plain) == 3
    assert sentences(mark + text) == [mark + plain[0], *plain[1:]]
    marked = text.replace("Gov.", mark + "Gov.").replace("Sept.", "Sept." + mark)
    assert sentences(marked) == [plain[0], mark + plain[1].replace("Sept.", "Sept." + mark), plain[2]]
    assert sentences(text.replace("committee. ", "committee." + mark + " ")) == [
        plain[0] + mark, *plain[1:]]   # the end of a sentence it followed, kept with it


@pytest.mark.parametrize("text, mark, dressed", [
    ("उन्होंने कहा कि बैठक सफल रही। अगली बैठक जनवरी में होगी।", "।", "।\u200b"),   # Hindi: after the danda
    ("وزیر نے کہا کہ اجلاس کامیاب رہا۔ اگلا اجلاس جنوری میں ہوگا۔", "۔", "۔\u00ad"),   # Urdu: after the full stop
    ("“我们很高兴！”馆长说。图书馆明天开放。", "！", "！\u200b"),   # Chinese: between the mark and the quote
    ("「場所にしたい。」と話した。東京は晴れ。", "。」", "。\u2060」"),   # Japanese
])
def test_invisible_characters_at_other_scripts_end_marks_change_no_boundary(text, mark, dressed):
    visible = [IGNORABLE_RE.sub("", s) for s in sentences(text.replace(mark, dressed))]
    assert visible == sentences(text) and len(visible) == 2


def test_a_line_of_invisible_characters_is_blank_and_a_bullet_may_follow_them_in_hard_wrapped_text():
    """The layout layer's blank lines and list items: white space or invisible characters alike."""
    wrapped = ["The city council approved the new budget on Tuesday after a long",
               "debate that lasted well into the night, officials said, and the",
               "mayor welcomed the vote as a sign of renewed confidence in the",
               "administration, which plans"]
    after = ["Opposition members said they would keep pressing for cuts to the",
             "transport plan before the end of the year, and called for a new", "vote in the spring."]
    bullets = ["- a new tram line along the river", "- two bus lanes"]
    for plain, dressed in [("\n".join(wrapped) + "\n\n" + "\n".join(after),
                            "\n".join(wrapped) + "\n\u200b\n" + "\n".join(after)),
                           ("\n".join(wrapped + bullets), "\n".join(wrapped + ["\u200b" + b for b in bullets]))]:
        assert [IGNORABLE_RE.sub("", s) for s in sentences(dressed)] == sentences(plain)
        assert len(sentences(plain)) == (2 if "\n\n" in plain else 3)


@pytest.mark.parametrize("brk", ["\r", "\u2028", "\u2029", "\x85"])
def test_other_line_breaks_are_line_breaks(brk):
    """A carriage return alone (old Mac files), the Unicode line and paragraph separators and NEL break lines as
    "\n" does: list items stay apart, blank lines are boundaries; spans stay exact in the text as given."""
    items = ["The council approved:", "- a new tram line", "- two bus lanes", "Works start in May."]
    for sep in (brk, brk * 2):
        text = sep.join(items)
        assert sentences(text) == items == sentences("\n".join(items) if sep == brk else "\n\n".join(items))
    assert split_many(["a.\r\nB c.", "x" + brk + "y."]) == [split_sentences("a.\r\nB c."),
                                                          split_sentences("x" + brk + "y.")]


WRAPPED = ["The city council approved the new budget on Tuesday after a long",
           "debate that lasted well into the night, officials said, and the",
           "mayor welcomed the vote as a sign of renewed confidence in the",
           "administration. It plans to start the works in May, he added."]


@pytest.mark.parametrize("ending, blank", [
    ("\r\n", "\r\n\r\n"), ("\r\r\n", "\r\r\n\r\r\n"), ("\n\r", "\n\r\n\r"), ("\r", "\r\r"),
    ("\r\n", "\r\n\r\r\n"), ("\n\r", "\n\r\r\n"), ("\r\r\n", "\r\n\n\r")])
def test_carriage_returns_around_a_line_feed_are_one_line_break(ending, blank):
    """A run of carriage returns before "\n" ("\r\r\n": a CRLF file converted twice) and one right after it (the
    LF-CR ending "\n\r") are part of its line break: a hard-wrapped text so written is cut as with "\n" alone (each
    line end was a blank line, a hard boundary), its blank lines stay; spans exact in the text as given."""
    plain = "\n".join(WRAPPED) + "\n\n" + "\n".join(WRAPPED)
    text = ending.join(WRAPPED) + blank + ending.join(WRAPPED)
    expected = sentences(plain)
    assert len(expected) == 4
    assert [" ".join(s.split()) for s in sentences(text)] == [" ".join(s.split()) for s in expected]
    assert [s == s.strip() for s in sentences(text)] == [True] * 4


def test_mixed_line_endings_read_as_line_feeds():
    """An absorbed carriage return stays at the end of its line ("\n\r" is read as "\r\n"): a line after "\n\r"
    that opens with one space is not indented (a new paragraph in hard-wrapped text)."""
    endings = ["\r\n", "\r\r\n", "\n\r", "\n", "\r", "\r\r\r\n"]
    lines = [" " * (k % 2) + line for k, line in enumerate(WRAPPED * 3)]
    text = "".join(line + endings[k % len(endings)] for k, line in enumerate(lines)).rstrip()
    plain = "\n".join(lines)
    assert [" ".join(s.split()) for s in sentences(text)] == [" ".join(s.split()) for s in sentences(plain)]
    assert split_many([text, plain, text]) == [split_sentences(text), split_sentences(plain), split_sentences(text)]


@pytest.mark.parametrize("text", [
    # Swedish and Polish read as Latin-1: "Å" is "Ã\x85", "ą" is "Ä\x85"; an emoji (4 bytes) and U+2005 (3)
    ("Ã\x85land voted on the plan on Sunday. The islands sent two envoys to Stockholm.\n"
     "Mayor Ã\x85sa Lind said the vote was clear. Turnout was 60 percent ð\x9f\x98\x85 on the day.\n"
     "The law takes effect in May.â\x80\x85It was first proposed in 2019."),
    ("Wyniki sÄ\x85 dobre, powiedziaÅ\x82 minister finansÃ³w w poniedziaÅ\x82ek.\n"
     "Rada przyjÄ\x99Å\x82a budÅ¼et na przyszÅ\x82y rok.\nMiÄ\x99dzy innymi zmieniÄ\x85 siÄ\x99 podatki.\n"
     "Opozycja zapowiedziaÅ\x82a protest."),
    "\n".join(WRAPPED).replace("council", "Ã\x85land council").replace("sign", "znak sÄ\x85 sign")
    .replace(" the", " the Ä\x85Ä\x85"),   # hard-wrapped
], ids=["swedish_emoji_and_u2005", "polish", "hard_wrapped"])
def test_a_nel_that_can_be_a_utf8_continuation_byte_read_as_latin1_breaks_no_line(text):
    """UTF-8 read as Latin-1 writes the byte 0x85 as NEL (U+0085). Where it can be such a byte (after a lead byte
    read so, or a continuation byte of a longer sequence) it is no line break: it cut words in two (a line each in
    a text of one paragraph a line) and two made a blank line. It reads as a space between words."""
    assert split_sentences(text) == split_sentences(text.replace("\x85", "x"))   # a letter in its place
    assert any("Ã\x85land" in s or "sÄ\x85" in s for s in sentences(text))
    assert split_many([text, text]) == [split_sentences(text)] * 2


def test_a_nel_after_a_latin1_sign_that_continues_no_utf8_sequence_is_a_line_break():
    """U+0080-U+00BF hold a NEL only after a three- or four-byte sequence's lead ("\x85\x85" is a blank line: see
    test_other_line_breaks_are_line_breaks)."""
    items = ["The council approved:", "- a new tram line at 40°", "- two bus lanes at 30°", "Works start in May."]
    assert sentences("\x85".join(items)) == items


@pytest.mark.parametrize("codec", ["cp500", "cp037"])
def test_an_ebcdic_files_line_ends_after_accented_letters_break_lines(codec):
    """EBCDIC decodes a line end to NEL: after "é" or "ç" it is no UTF-8 byte read as Latin-1 (what follows is no
    continuation byte), so it breaks the line as "\n" does: a heading and a byline stay sentences of their own."""
    lines = ["Budget de la ville adopté", "Par José", "Le conseil municipal a adopté le budget mardi soir.",
             "Les travaux commenceront en mai, a précisé le maire."]
    text = b"\x15".join(line.encode(codec) for line in lines).decode(codec)   # NL, EBCDIC's line end
    assert "é\x85" in text
    assert sentences(text) == sentences("\n".join(lines)) == lines


def test_a_nel_in_no_valid_utf8_sequence_breaks_its_line():
    """Only a NEL inside one valid UTF-8 character read as Latin-1 stays: "à\x85" (E0 needs A0-BF after it),
    "é\x85" before a letter or a space, "ð\x85" are line breaks; "Ã\x85", "é\x85\x80" (U+9140) are not."""
    from dedup.align.sentences import _LINE_BREAK, _as_newline
    assert [_LINE_BREAK.sub(_as_newline, t) for t in ["à\x85\x80", "é\x85L", "é\x85 ", "ð\x85\x80\x80"]] == [
        "à\n\x80", "é\nL", "é\n ", "ð\n\x80\x80"]
    assert [_LINE_BREAK.sub(_as_newline, t) for t in ["Ã\x85", "é\x85\x80", "ð\x9f\x85\x80", "ô\x8f\x80\x85"]] == [
        "Ã\x85", "é\x85\x80", "ð\x9f\x85\x80", "ô\x8f\x80\x85"]


# nupunkt's model takes ordinary words for abbreviations ("month", "bank", "stock", "so", "car"): a
# period after one of them, before a capitalised word that is no usual sentence starter, ended no
# sentence. The splitter keeps only the entries that cannot be such a word, and news abbreviations.
@pytest.mark.parametrize("first, second", [
    ("Inflation rose again last month.", "Officials said the bank would act."),
    ("Shares fell after the company sold more stock.", "Analysts expect a rebound."),
    ("The rate rise was announced by the central bank.", "Lenders said they would follow."),
    ("He said he would not do so.", "Police declined to comment."),
    ("The minister arrived by car.", "Protesters had gathered outside."),
    ("It was the same old story.", "Volcker was just fulfilling his role."),
])
def test_an_ordinary_word_before_a_period_ends_the_sentence(first, second):
    text = f"{first} {second}"
    assert [text[a:b] for a, b in split_sentences(text)] == [first, second]


@pytest.mark.parametrize("text", [
    "Gov. Greg Abbott declared a state of emergency on Friday.",
    "Shares of Acme Corp. Holdings rose in early trading.",
    "The law takes effect Sept. 1 in most states.",
    "A spokesman for No. 10 Downing St. declined to comment.",
    "Production will move to the company's Belvidere, Ill. plant next year.",
    "The units were sold through F.N. Wolf and Co and others.",
    "The hearings began only when Atty. Gen. Edwin Meese told him in November.",
    "It is retooling its plant in Ste. Therese, Quebec, at a cost of 20 mln dlrs.",
    "The suspect was arrested at approx. 11:45 p.m. on Friday.",
])
def test_a_news_abbreviation_does_not_end_the_sentence(text):
    assert split_sentences(text) == [(0, len(text))]


def test_the_splitter_keeps_no_model_abbreviation_that_is_an_ordinary_word():
    from dedup.align.sentences import (
        NEWS_ABBREVIATIONS,
        news_abbreviations,
        nupunkt_tokenizer,
    )

    kept = nupunkt_tokenizer().abbreviations
    assert {"month", "bank", "stock", "story", "so", "at", "car"}.isdisjoint(kept)
    assert {"mr", "st", "ltd", "corp", "gov", "sept", "u.s", "a.m"} <= kept
    assert kept == news_abbreviations(kept) and kept - NEWS_ABBREVIATIONS


def test_the_splitter_leaves_nupunkts_shared_model_as_it_is():
    # nupunkt.load caches one instance per model name for every caller (sent_tokenize too)
    import nupunkt

    from dedup.align.sentences import nupunkt_tokenizer

    assert "month" not in nupunkt_tokenizer().abbreviations
    assert "month" in nupunkt.load("default").abbreviations
