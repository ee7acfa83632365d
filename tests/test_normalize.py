from hypothesis import given
from hypothesis import strategies as st

from dedup.config import ShingleConfig
from dedup.normalize import normalize, tokenize
from dedup.shingle import shingle_texts


@given(st.text())
def test_normalize_is_idempotent(text):
    assert normalize(normalize(text)) == normalize(text)


def test_width_and_case_variants_normalise_together():
    assert tokenize("ＰＡＲＩＳ Straße") == tokenize("paris STRASSE")


def test_scripts_without_spaces_become_characters():
    assert tokenize("東京都で地震") == ["東", "京", "都", "で", "地", "震"]
    assert tokenize("iPhone手机") == ["iphone", "手", "机"]


def test_arabic_and_devanagari_words_stay_whole():
    # Harakat and tatweel are optional in Arabic: with or without, same tokens.
    assert tokenize("مُحَمَّد قالَ") == tokenize("محمد قـال") == ["محمد", "قال"]
    assert tokenize("नमस्ते दुनिया") == ["नमस्ते", "दुनिया"]


def test_copies_share_shingles_in_every_script():
    cfg = ShingleConfig(size=4)
    texts = {
        "zh": "北京市政府周二宣布，将在明年投资五十亿元改善城市公共交通系统。",
        "ar": "أعلنت الحكومة يوم الثلاثاء عن خطة جديدة لتحسين شبكة النقل العام في المدينة خلال العام المقبل",
        "ja": "東京都は火曜日、来年から公共交通機関の運賃を引き下げると発表した。",
    }
    for text in texts.values():
        (a, b), _, _ = shingle_texts([text, text + " " + text[: len(text) // 2]], cfg)
        assert len(a) >= 8
        assert set(a.tolist()) <= set(b.tolist())


def test_short_text_gives_one_shingle_and_empty_gives_none():
    shingles, counts, _ = shingle_texts(["two words", ""], ShingleConfig(size=4))
    assert len(shingles[0]) == 1 and counts[0] == 2
    assert len(shingles[1]) == 0 and counts[1] == 0
