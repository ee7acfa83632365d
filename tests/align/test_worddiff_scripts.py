"""Word diffs of scripts written without spaces, and of words with combining marks."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dedup.align import worddiff
from dedup.align.terminal import render_diff
from dedup.align.worddiff import split_diff, tokens, word_diff
from dedup.normalize import tokenize


def side(diff, skip):
    return "".join(d["text"] for d in diff if d["op"] != skip)


def changes(diff):
    return [(d["op"], d["text"]) for d in diff]


def test_a_changed_chinese_word_is_the_only_change():
    assert changes(word_diff("今天北京下雨了", "今天上海下雨了")) == [
        ("=", "今天"), ("-", "北京"), ("+", "上海"), ("=", "下雨了")]


def test_a_changed_japanese_word_is_the_only_change():
    canonical, version = "東京都は昨日、新しい条例を可決した。", "東京都は今日、新しい条例を可決した。"
    assert changes(word_diff(canonical, version)) == [
        ("=", "東京都は"), ("-", "昨"), ("+", "今"), ("=", "日、新しい条例を可決した。")]


def test_a_thai_vowel_change_keeps_the_mark_on_its_consonant():
    """ฉันกินข้าว / ฉันกันข้าว: the vowel marks above ก differ; the diff shows the syllable, not a bare mark."""
    assert changes(word_diff("ฉันกินข้าว", "ฉันกันข้าว")) == [("=", "ฉัน"), ("-", "กิ"), ("+", "กั"), ("=", "นข้าว")]


def test_no_space_characters_are_tokens_as_in_shingling():
    text = "iphone手机售价8999元，比去年上涨3%。日本の東京タワーでイベントが開かれた"
    words = [t.strip() for t in tokens(text) if t.strip()[0].isalnum()]
    assert words == tokenize(text)


def test_combining_marks_continue_a_word():
    """Marks are not ``\\w`` to ``re``: Devanagari and vowelled Arabic words were cut at each mark."""
    assert [t.strip() for t in tokens("उसने हिंदी सीखी")] == ["उसने", "हिंदी", "सीखी"]
    assert [t.strip() for t in tokens("في عمّان")] == ["في", "عمّان"]
    assert changes(word_diff("उसने हिंदी सीखी", "उसने हिन्दी सीखी")) == [
        ("=", "उसने"), ("-", " हिंदी"), ("+", " हिन्दी"), ("=", " सीखी")]


def test_split_chinese_sentence_diff_is_cut_between_the_parts():
    canonical = "气象台说北京今天下雨，明天转晴。"
    parts = ["气象台说上海今天下雨。", "明天转晴。"]
    first, second = split_diff(canonical, parts)
    assert side(first, "-") == parts[0] and side(second, "-") == parts[1]
    assert side(first, "+") + side(second, "+") == canonical
    assert ("+", "上海") in changes(first) and ("-", "北京") in changes(first)


def test_terminal_diff_of_a_chinese_sentence_marks_only_the_changed_word():
    text_a = "据气象台消息，今天北京全天下雨了，最高气温只有十二度，市民出行请携带雨具并注意交通安全。气温下降五度。"
    text_b = text_a.replace("北京", "上海")
    out = render_diff(text_a, text_b, title_a="A", title_b="B", color=False)
    assert "~ 据气象台消息，今天[-北京-]{+上海+}全天下雨了，最高气温只有十二度，" in out


_piece = st.sampled_from(["今天", "北京", "上海", "下雨", "了", "。", "，", "東京", "タワー", "・", "･", "ｶﾀｶﾅ",
                          "ฉัน", "กิน", "ข้าว", "हिंदी", "عمّان", "e\u0301t\u00e9", "3.5", "iPhone", "𠀀", " ", "\n"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_piece, min_size=1, max_size=30), st.lists(_piece, min_size=1, max_size=30))
def test_diff_of_mixed_scripts_rebuilds_both_sentences_exactly(a, b):
    canonical, version = "".join(a).strip(), "".join(b).strip()   # sentences as the splitter cuts them
    assume(canonical and version)
    diff = word_diff(canonical, version)
    assert side(diff, "-") == version
    assert side(diff, "+") == canonical
    assert all(d["op"] in "=+-" and d["text"] for d in diff)


_latin = st.text(st.characters(codec="latin-1", exclude_categories=("Cs",)) | st.sampled_from(" ’'.,-—«»€"),
                 max_size=60)


@settings(max_examples=300, deadline=None)
@given(_latin)
def test_text_without_marks_or_no_space_characters_tokenises_as_before(text):
    """The plain pattern that such text still takes (Latin diffs unchanged) agrees with the full one."""
    assert worddiff._TOKEN.findall(text) == worddiff._TOKEN_FULL.findall(text)


def test_halfwidth_katakana_is_cut_per_character_with_its_sound_marks():
    """Shingling sees ｶﾞｿﾘﾝ as ガソリン (NFKC); the diff, on the raw text, took the whole run for one word."""
    assert [t for t in tokens("ｶﾞｿﾘﾝ価格")] == ["ｶﾞ", "ｿ", "ﾘ", "ﾝ", "価", "格"]
    assert changes(word_diff("ｶﾞｿﾘﾝ価格ｱｯﾌﾟ", "ｶﾞｿﾘﾝ価格ﾀﾞｳﾝ")) == [
        ("=", "ｶﾞｿﾘﾝ価格"), ("-", "ｱｯﾌﾟ"), ("+", "ﾀﾞｳﾝ")]
    assert changes(word_diff("ｶﾞｿﾘﾝ", "ｶﾞｿﾘﾝｽﾀﾝﾄﾞ")) == [("=", "ｶﾞｿﾘﾝ"), ("+", "ｽﾀﾝﾄﾞ")]
