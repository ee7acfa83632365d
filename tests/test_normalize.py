from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.config import ShingleConfig
from dedup.normalize import normalize, tokenize
from dedup.shingle import shingle_texts


@settings(deadline=None)
@given(st.text())
def test_normalize_is_idempotent(text):
    assert normalize(normalize(text)) == normalize(text)


def test_width_and_case_variants_normalise_together():
    assert tokenize("ＰＡＲＩＳ Straße") == tokenize("paris STRASSE")


def test_invisible_characters_do_not_cut_words():
    # soft hyphens as a CMS inserts them, zero-width spaces and joiners, Persian's zero-width non-joiner,
    # a word joiner, a byte-order mark, a variation selector: a reader sees one word, so does the tokenizer
    assert tokenize("Zusammen\u00adarbeit co\u200boperation") == ["zusammenarbeit", "cooperation"]
    assert tokenize("می\u200cخواهم") == tokenize("میخواهم") == ["میخواهم"]
    assert tokenize("\ufeffwa\u2060ter\u200d fi\ufe0fre \u202bx\u202c") == ["water", "fire", "x"]
    assert normalize("e\u00ad\u0301") == "\u00e9"   # a mark cut off by one composes once it is gone


def test_a_copy_with_soft_hyphens_is_the_same_story_with_every_sentence_kept(tmp_path):
    import re

    import polars as pl

    from dedup.pipeline import run
    text = ("Die Bundesregierung hat am Mittwoch ein umfangreiches Entlastungspaket beschlossen. "
            "Finanzminister und Wirtschaftsminister stellten die Vereinbarung nach stundenlangen "
            "Verhandlungen im Kanzleramt vor. Die Opposition kritisierte die Beschlüsse als unzureichend "
            "und forderte weitergehende Maßnahmen gegen die hohen Energiepreise.")
    hyphenated = re.sub(r"\w{8,}", lambda m: "\u00ad".join(m[0][i:i + 4] for i in range(0, len(m[0]), 4)), text)
    assert hyphenated != text and hyphenated.replace("\u00ad", "") == text
    corpus = tmp_path / "night.jsonl"
    pl.DataFrame({"id": ["wire", "copy"], "outlet": ["Wire", "Zeitung"], "title": ["t", "t"],
                  "text": [text, hyphenated], "published": ["2026-11-27T08:00:00Z", "2026-11-27T09:00:00Z"]}
                 ).write_ndjson(corpus)
    result = run([corpus], tmp_path / "out")
    assert result.clusters["cluster_size"].to_list() == [2, 2]
    copy = result.sentences.collect().filter(pl.col("article_id") == "copy")
    assert copy.height == 3 and copy["status"].to_list() == ["kept"] * 3


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


# -- the native tokenizer and shingles (dedup.shingle) against the reference ----------------------

import sys  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xxhash  # noqa: E402
from hypothesis import settings  # noqa: E402

import dedup._marks  # noqa: E402
import dedup.normalize  # noqa: E402
import dedup.shingle  # noqa: E402
from dedup.shingle import hash_tokens, shingle_flat, window_hashes, xxh3_64  # noqa: E402


def _xxh(tokens):
    return [xxhash.xxh3_64_intdigest(t.encode("utf-8", "surrogatepass")) for t in tokens]


@pytest.mark.parametrize("name", ["WORD_RANGES", "RANGES", "DIGIT_RANGES", "ASSIGNED_RANGES"])
def test_tables_are_this_pythons_on_unicode_14s_code_points(name):
    """On Unicode 14.0 (Python 3.11) each table is what this Python computes (``\\w``, combining marks,
    ``\\d``, assigned code points); on a later Unicode, where the rules stay 14.0's, it is what this Python
    computes on the code points 14.0 assigned: the later version changed none of them."""
    assert dedup._marks.expected(name) == getattr(dedup._marks, name)


def test_xxh3_port_equals_xxhash_at_every_length_branch():
    data = np.random.default_rng(5).integers(0, 256, size=2600, dtype=np.uint8)
    for n in list(range(0, 260)) + [511, 1024, 1025, 1088, 2047, 2048, 2049, 2500]:
        start = n % 7
        assert xxh3_64(data, start, n) == xxhash.xxh3_64_intdigest(data[start:start + n].tobytes()), n


def test_native_tokens_equal_the_regex_for_every_code_point():
    # Each code point starting a token, after a word character, repeated, and next to a no-space character.
    text = "".join(f"{c}x{c}{c}京{c} " for c in map(chr, range(sys.maxunicode + 1)))
    hashes, offsets = dedup.shingle._hash_encoded([text.encode("utf-8", "surrogatepass")])
    assert hashes.tolist() == _xxh(dedup.normalize._TOKEN.findall(text))


_SCRIPTS = st.text(alphabet=st.sampled_from(list("ab1_ -.,'’\n\tÉé") + ["ß", "ﬁ", "Ⅻ", "²", "東", "京", "で", "ก",
                                                                        "ั", "न", "्", "त", "م", "ُ", "ـ", "😀",
                                                                        "\U00020000", "\u0301", "\ud800", "\x00"]))


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.one_of(st.text(), _SCRIPTS), max_size=6), size=st.integers(1, 6),
       threads=st.sampled_from([1, 2, 3]))
def test_shingle_flat_equals_the_reference(texts, size, threads, monkeypatch_module):
    hashes, offsets = hash_tokens(texts, threads=threads)
    flat = shingle_flat(texts, ShingleConfig(size=size), threads=threads)
    for i, text in enumerate(texts):
        reference = _xxh(tokenize(text))
        assert hashes[offsets[i]:offsets[i + 1]].tolist() == reference
        seq = window_hashes(np.asarray(reference, dtype=np.uint64), size)
        assert flat.sequence[flat.sequence_offsets[i]:flat.sequence_offsets[i + 1]].tolist() == seq.tolist()
        assert flat.values[flat.offsets[i]:flat.offsets[i + 1]].tolist() == np.unique(seq).tolist()
        assert flat.n_tokens[i] == len(reference)


@pytest.fixture(scope="module")
def monkeypatch_module():
    # Every input is split across threads, however small (see parallel_ranges).
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dedup.shingle, "_MIN_PARALLEL", 0)
        yield mp
