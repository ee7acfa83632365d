"""WARC archives: one article per HTML response; every other response rejected with its reason."""

import gzip
import re
import zlib

import polars as pl
import pytest

from dedup.config import ReadConfig
from dedup.io import read_inputs
from tests.io.pages import classic_page, div_soup_page, paragraphs, warc_bytes


def _mixed():
    cp1252 = ["Le café crème est très apprécié à Paris, où l'été dure longtemps cette année.",
              "Les élèves ont présenté leur requête au ministère de l'Éducation nationale hier soir.",
              "Le préfet a rappelé que la grève des dockers coûte cher aux entreprises de la région."]
    no_site = classic_page(paragraphs(5)).replace('<meta property="og:site_name" content="Harbour Gazette">', "")
    no_site = no_site.replace("<title>Port strike enters third day | Harbour Gazette</title>", "<title>Strike</title>")
    return [
        {"uri": "https://www.harbour-gazette.example/a", "content_type": "text/html; charset=utf-8",
         "body": classic_page(paragraphs(1)).encode()},                                     # 2: article
        {"type": "request", "uri": "https://www.harbour-gazette.example/a"},                  # 3: skipped
        {"uri": "https://www.harbour-gazette.example/gone", "status": "404 Not Found",
         "content_type": "text/html", "body": b"<html><body>Not found</body></html>"},      # 4: warc_status_404
        {"uri": "https://www.harbour-gazette.example/old", "status": "301 Moved Permanently",
         "content_type": "text/html", "body": b""},                                         # 5: warc_status_301
        {"uri": "https://www.harbour-gazette.example/logo.png", "content_type": "image/png",
         "body": b"\x89PNG\r\n\x1a\n" + bytes(100)},                                         # 6: warc_not_html
        {"uri": "https://valley.example/cafe", "content_type": "text/html; charset=windows-1252",
         "body": classic_page(cp1252, title="Café", url="https://valley.example/cafe").encode("cp1252")},  # 7
        {"uri": "https://www.valley.example/untyped", "body": div_soup_page(paragraphs(3)).encode()},  # 8
        {"type": "metadata", "uri": "https://valley.example/cafe", "body": b"fetchTimeMs: 12"},  # 9: skipped
        {"uri": "https://www.plain.example/story", "content_type": "text/html", "body": no_site.encode()},  # 10
        {"uri": "https://www.plain.example/robots.txt", "content_type": "text/plain",
         "body": b"User-agent: *\nDisallow:"},                                               # 11: warc_not_html
        {"type": "resource", "uri": "file:///archive/page.html", "content_type": "text/html",
         "body": div_soup_page(paragraphs(4), title="Other story").encode()},                # 12: article
    ]


@pytest.mark.parametrize("gz", [False, True])
def test_mixed_records_become_articles_or_counted_rejects(tmp_path, gz):
    name = "crawl.warc.gz" if gz else "crawl.warc"
    (tmp_path / name).write_bytes(warc_bytes(_mixed(), gzip=gz))
    res = read_inputs([tmp_path])
    got = {(r["record"], r["reason"]) for r in res.rejects.to_dicts()}
    assert got == {(4, "warc_status_404"), (5, "warc_status_301"), (6, "warc_not_html"), (11, "warc_not_html")}
    arts = {a["source_record"]: a for a in res.articles.to_dicts()}
    assert sorted(arts) == [2, 7, 8, 10, 12]
    # records seen (responses and resources) = articles + rejects
    assert res.records == 9 == res.articles.height + res.rejects.height
    assert res.warnings["warc_skipped_request"] == 1 and res.warnings["warc_skipped_metadata"] == 1
    assert res.warnings["warc_skipped_warcinfo"] == 1 and res.warnings["decoded_as_cp1252"] == 1
    assert arts[2]["url"] == "https://www.harbour-gazette.example/a" and arts[2]["outlet"] == "Harbour Gazette"
    assert arts[7]["title"] == "Café" and "café crème" in arts[7]["text"]
    assert arts[8]["outlet"] == "Coastal Times" and arts[8]["url"] == "https://www.valley.example/untyped"
    assert arts[10]["outlet"] == "plain.example"  # the page names no site: the target URI's host
    assert "\n\n" in arts[12]["text"]


def test_truncated_archive_keeps_earlier_records_and_rejects_the_cut_one(tmp_path):
    data = warc_bytes(_mixed()[:1] + _mixed()[5:6])
    cut = data.rfind(b"WARC/1.0") + 1500  # inside the last record's payload
    (tmp_path / "cut.warc").write_bytes(data[:cut])
    res = read_inputs([tmp_path])
    assert res.articles["source_record"].to_list() == [2]
    assert [(r["record"], r["reason"]) for r in res.rejects.to_dicts()] == [(3, "malformed_warc")]


def test_garbage_after_records_and_corrupt_gzip(tmp_path):
    (tmp_path / "tail.warc").write_bytes(warc_bytes(_mixed()[:1]) + b"this is not a WARC record\r\n" * 3)
    gz = warc_bytes(_mixed()[:1], gzip=True)
    (tmp_path / "bad.warc.gz").write_bytes(gz[:-40])
    res = read_inputs([tmp_path])
    reasons = sorted((r["file"].rsplit("/", 1)[1], r["reason"]) for r in res.rejects.to_dicts())
    assert ("tail.warc", "malformed_warc") in reasons
    assert ("bad.warc.gz", "corrupt_compression") in reasons
    assert res.records == res.articles.height + res.rejects.height


def test_oversized_payload_is_rejected_unread(tmp_path):
    big = classic_page(paragraphs(1) * 40).encode()
    (tmp_path / "big.warc").write_bytes(warc_bytes([{"uri": "https://x.example/", "content_type": "text/html",
                                                    "body": big}]))
    res = read_inputs([tmp_path], config=ReadConfig(max_record_bytes=len(big) // 2))
    assert res.rejects["reason"].to_list() == ["record_too_large"]


def test_empty_and_non_warc_files(tmp_path):
    (tmp_path / "empty.warc").write_bytes(b"")
    (tmp_path / "html.warc").write_bytes(classic_page(paragraphs(1)).encode())
    # records, but none of the run's (warcinfo, a request): the file is one empty_file reject, not nothing
    (tmp_path / "requests.warc").write_bytes(warc_bytes([{"type": "request", "uri": "https://x.example/"}]))
    res = read_inputs([tmp_path])
    reasons = {r["file"].rsplit("/", 1)[1]: r["reason"] for r in res.rejects.to_dicts()}
    assert reasons == {"empty.warc": "empty_file", "html.warc": "malformed_warc", "requests.warc": "empty_file"}
    assert res.warnings["warc_skipped_request"] == 1 and res.records == 3


@pytest.mark.parametrize("pages", [3, 60])
def test_a_truncated_warc_gz_keeps_every_whole_record_before_the_break(tmp_path, pages):
    # warcio reads 16 KiB blocks; the records decompressed in the block that met the break were lost
    # with it: every record of a small archive, the last few of a big one
    data = warc_bytes([{"uri": f"https://x.example/{i}", "content_type": "text/html",
                        "body": classic_page(paragraphs(i)).encode()} for i in range(pages)], gzip=True)
    cut = data[:len(data) * 3 // 4 + 5]
    (tmp_path / "cut.warc.gz").write_bytes(cut)
    members, rest = 0, cut                   # one gzip member a record, the warcinfo record first
    while rest:
        inflate = zlib.decompressobj(31)
        inflate.decompress(rest)
        if not inflate.eof:
            break
        members, rest = members + 1, inflate.unused_data
    res = read_inputs([tmp_path], config=ReadConfig(workers=1))
    assert res.articles.height == members - 1 > 0
    assert [(r["record"], r["reason"]) for r in res.rejects.to_dicts()] == [(None, "corrupt_compression")]


def test_content_encoded_payload(tmp_path):
    body = classic_page(paragraphs(9)).encode()
    deflated = zlib.compress(body)
    from warcio.statusandheaders import StatusAndHeaders  # noqa: F401  (writer dependency present)
    data = warc_bytes([{"uri": "https://z.example/a", "content_type": "text/html", "body": deflated}])
    data = data.replace(b"Content-Type: text/html\r\n", b"Content-Type: text/html\r\nContent-Encoding: deflate\r\n")
    (tmp_path / "enc.warc").write_bytes(data)
    res = read_inputs([tmp_path])
    assert res.articles.height == 1 and res.articles["text"][0].startswith(paragraphs(9)[0][:40])


def test_pages_extracted_on_workers_are_those_extracted_in_process(tmp_path, monkeypatch):
    # Batches of 5 pages (across files), each extracted on 2 forked workers: the same articles,
    # rejects, record numbers and warnings as one process extracting the pages one by one.
    from polars.testing import assert_frame_equal

    import dedup.align.parallel
    import dedup.io
    import dedup.io.html

    for k in range(4):
        (tmp_path / f"crawl-{k}.warc").write_bytes(warc_bytes(_mixed()))
    for k in range(6):
        (tmp_path / f"page-{k}.html").write_text(classic_page(paragraphs(20 + k), url=f"https://g.example/{k}"))
    (tmp_path / "empty.html").write_text("<html><head><title>x</title></head><body><img src='a.png'></body></html>")
    monkeypatch.setattr(dedup.io, "_PAGE_BATCH", 5)
    monkeypatch.setattr(dedup.io.html, "MIN_PARALLEL_PAGES", 2)
    forks = []
    original = dedup.align.parallel.map_chunks

    def counted(fn, data, bounds, workers, done=None):
        forks.append((workers, len(bounds)))
        return original(fn, data, bounds, workers, done)

    monkeypatch.setattr(dedup.align.parallel, "map_chunks", counted)
    one = read_inputs([tmp_path], config=ReadConfig(workers=1))
    assert forks and all(workers == 1 for workers, _ in forks)
    forks.clear()
    two = read_inputs([tmp_path], config=ReadConfig(workers=2))
    assert forks and all(workers == 2 and chunks > 1 for workers, chunks in forks)
    # the four archives' pages are the same texts: the first archive's are kept, the others' are duplicates
    assert one.articles.height == 5 + 6 and one.records == 4 * 9 + 7
    assert one.rejects.filter(pl.col("reason") == "duplicate_id").height == 15
    assert_frame_equal(one.articles, two.articles)
    assert_frame_equal(one.rejects, two.rejects)
    assert one.records == two.records and one.warnings == two.warnings
    assert two.warnings["decoded_as_cp1252"] == 4
    assert two.rejects.filter(pl.col("file").str.ends_with("empty.html"))["reason"].to_list() == ["html_no_text"]


def test_read_workers_must_be_a_whole_number():
    from dedup.errors import ConfigError
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(ConfigError, match="read.workers"):
            ReadConfig(workers=bad)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_page_whose_extraction_fails_is_its_own_reject(tmp_path, monkeypatch, workers):
    import dedup.io.html

    monkeypatch.setattr(dedup.io.html, "MIN_PARALLEL_PAGES", 2)
    real = dedup.io.html.extract_article

    def failing(data, **kwargs):   # a bug in extraction, on one page only
        if b"TRIGGER" in data:
            raise RuntimeError("extractor bug")
        return real(data, **kwargs)

    monkeypatch.setattr(dedup.io.html, "extract_article", failing)
    for k in range(4):
        (tmp_path / f"page-{k}.html").write_text(classic_page(paragraphs(40 + k)))
    (tmp_path / "bad.html").write_text(classic_page(paragraphs(50)).replace("</body>", "TRIGGER</body>"))
    res = read_inputs([tmp_path], config=ReadConfig(workers=workers))
    assert res.articles.height == 4 and res.records == 5
    [reject] = res.rejects.to_dicts()
    assert (reject["file"].rsplit("/", 1)[1], reject["record"], reject["reason"]) == ("bad.html", None, "reader_error")
    assert "RuntimeError: extractor bug" in reject["message"]



@pytest.mark.parametrize("status", ["²⁰⁰", "٢٠٠", "\U00011f50" * 3])
def test_a_status_in_other_digits_is_an_invalid_status(status):
    # a reason is a key of summary.json: ASCII digits only (Kawi digits are digits on Python 3.12+ only);
    # warcio writes no such status line, so the record is one as warcio reads it
    from types import SimpleNamespace

    from dedup.io.streams import Source
    from dedup.io.warc import _page

    http = SimpleNamespace(protocol="HTTP/1.1", get_statuscode=lambda: status, get_header=lambda name: None)
    record = SimpleNamespace(rec_type="response", rec_headers=SimpleNamespace(get_header=lambda name: "http://x/1"),
                             http_headers=http)
    assert _page(record, 1, Source(path="x.warc")).reason == "warc_status_invalid"


def _stories(count, first=0):
    return [{"uri": f"https://x.example/{i}", "content_type": "text/html",
             "body": classic_page(paragraphs(i + 1), title=f"Story {i}").encode()} for i in range(first, first + count)]


def _read_one(tmp_path, name, data, **config):
    (tmp_path / name).write_bytes(data)
    res = read_inputs([tmp_path / name], config=ReadConfig(workers=1, **config))
    assert res.records == res.articles.height + res.rejects.height
    return sorted(res.articles["source_record"].to_list()), res.rejects.to_dicts(), res.warnings


def _garble(data, start):   # the record's first line is no WARC version
    return data[:start] + b"XARC/1.0" + data[start + 8:]


def _cut_header(data, start):   # the header block loses its middle, its Content-Length with it
    return data[:start + 40] + data[data.index(b"\r\n\r\n", start) - 20:]


def _garbage_before(data, start):   # lines between two records
    return data[:start] + b"not a record\r\nstill not one\r\n\r\n" + data[start:]


@pytest.mark.parametrize("damage, after", [(_garble, [5, 6, 7]), (_cut_header, [5, 6, 7]),
                                           (_garbage_before, [5, 6, 7, 8])])
def test_a_bad_record_in_the_middle_is_one_reject_and_the_records_after_it_are_read(tmp_path, damage, after):
    # the warcinfo record is 1, the stories 2-7; the 4th record is damaged (or garbage comes before it): one
    # reject for the unreadable stretch, which counts as one record, then the records after it as usual
    data = warc_bytes(_stories(6))
    starts = [m.start() for m in re.finditer(rb"WARC/1\.0\r\n", data)]
    damaged = damage(data, starts[3])
    articles, rejects, _ = _read_one(tmp_path, "crawl.warc", damaged)
    assert articles == [2, 3, *after]
    [reject] = rejects
    assert (reject["record"], reject["reason"]) == (4, "malformed_warc")
    resumed = damaged.index(b"\nWARC/1.0\r\n", starts[3]) + 1
    assert f"cannot parse WARC record 4 (at byte {starts[3]:,})" in reject["message"]
    assert reject["message"].endswith(f"reading resumed at the next record, at byte {resumed:,}")


@pytest.mark.parametrize("quote", ["\r\nWARC-Target-URI: https://quoted.example/\r\n<p>",
                                   "\r\nWARC-Target-URI: https://quoted.example/\r\n\r\n<p>"])
def test_a_record_line_quoted_in_a_payload_after_a_bad_record_starts_no_record(tmp_path, quote):
    # the 4th record's first line is garbled, and its payload quotes a record line; the search for the next record
    # passes over it (no WARC-Record-ID, no Content-Length: taken for a record, it would run to the end of the file)
    quoting = classic_page(paragraphs(3)).replace("\n", "\r\n").replace("</p>", "</p>\r\nWARC/1.0\r\n"
                                                                       "WARC-Type: response" + quote, 1)
    data = warc_bytes([*_stories(2), {"uri": "https://q.example/", "content_type": "text/html",
                                      "body": quoting.encode()}, *_stories(3, first=2)])
    starts = [m.start() for m in re.finditer(rb"WARC/1\.0\r\nWARC-Type: \w+\r\nWARC-Record-ID", data)]
    assert starts[4] > data.index(b"quoted.example") > starts[3]
    articles, rejects, _ = _read_one(tmp_path, "quoting.warc", _garble(data, starts[3]))
    assert articles == [2, 3, 5, 6, 7]
    [reject] = rejects
    assert (reject["record"], reject["reason"]) == (4, "malformed_warc")
    assert reject["message"].endswith(f"reading resumed at the next record, at byte {starts[4]:,}")


def test_a_record_line_inside_an_intact_payload_is_part_of_the_payload(tmp_path):
    quoting = classic_page(paragraphs(3)).replace("</p>", "</p>\r\nWARC/1.0\r\nWARC-Type: response\r\n", 1)
    data = warc_bytes([{"uri": "https://q.example/", "content_type": "text/html", "body": quoting.encode()},
                       *_stories(2)])
    assert _read_one(tmp_path, "quoting.warc", data) == ([2, 3, 4], [], {"warc_skipped_warcinfo": 1})


def _gzip_members(data):
    """(offset, length) of each gzip member of ``data``."""
    members, offset = [], 0
    while offset < len(data):
        inflate = zlib.decompressobj(31)
        inflate.decompress(data[offset:])
        members.append((offset, len(data) - offset - len(inflate.unused_data)))
        offset += members[-1][1]
    return members


def _spoil(data, offset, length):
    return data[:offset] + b"\xa5" * length + data[offset + length:]


@pytest.mark.parametrize("where", ["deflate data", "header", "crc", "two members"])
def test_a_damaged_gzip_member_is_one_reject_and_reading_resumes_at_the_next_member(tmp_path, where):
    data = warc_bytes(_stories(6), gzip=True)
    members = _gzip_members(data)
    offset, length = members[3]   # the 4th record's member
    damaged = {"deflate data": _spoil(data, offset + length // 2, 40), "header": _spoil(data, offset, 3),
               "crc": _spoil(data, offset + length - 8, 4),
               "two members": _spoil(_spoil(data, offset + length // 2, 40), members[4][0] + 30, 20)}[where]
    articles, rejects, _ = _read_one(tmp_path, "crawl.warc.gz", damaged)
    # two damaged members in a row are one unreadable stretch: one reject, and the records after it numbered on
    assert articles == ([2, 3, 5, 6] if where == "two members" else [2, 3, 5, 6, 7])
    [reject] = rejects
    assert (reject["record"], reject["reason"]) == (4, "malformed_warc")
    assert reject["message"].startswith(f"cannot read WARC record 4: the gzip member at byte {offset:,} of the "
                                        "file is damaged")
    assert reject["message"].endswith("reading resumed at the next member")


@pytest.mark.parametrize("straddle", [False, True])
def test_a_damaged_check_is_the_same_reject_wherever_the_reads_of_the_file_split(tmp_path, straddle):
    # a member of one record is handed out only once its CRC-32 passed: a damaged one is a reject, also when the
    # CRC-32 lies across two 64 KiB reads of the file (zero bytes before the member, which gzip skips, move it)
    data = warc_bytes(_stories(6), gzip=True)
    offset, length = _gzip_members(data)[3]
    crc = offset + length - 8
    padded = data[:offset] + b"\0" * ((1 << 16) - crc - 2 if straddle else 100) + data[offset:]
    articles, rejects, warnings = _read_one(tmp_path, "crawl.warc.gz", _spoil(padded, crc + len(padded) - len(data), 4))
    assert (articles, [(r["record"], r["reason"]) for r in rejects]) == ([2, 3, 5, 6, 7], [(4, "malformed_warc")])
    assert "warc_damaged_member_read" not in warnings


def _gzip_broken_at(data, at):
    """``data`` gzipped whole, as one member whose deflate data breaks at byte ``at`` of ``data`` (a block of the
    reserved type there, always an error; the CRC-32 and length are ``data``'s)."""
    deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = deflate.compress(data[:at]) + deflate.flush(zlib.Z_FULL_FLUSH) + b"\x07" + deflate.compress(data[at:])
    return (b"\x1f\x8b\x08\0\0\0\0\0\0\xff" + body + deflate.flush()
            + zlib.crc32(data).to_bytes(4, "little") + len(data).to_bytes(4, "little"))


@pytest.mark.parametrize("held", [True, False])
def test_a_damaged_member_of_many_records_is_one_reject_for_all_it_loses(tmp_path, monkeypatch, held):
    # two WARCs, each gzipped whole and joined (gzip, then cat: a member of many records each), the first broken
    # in its first record past 64 KiB (what one read decompresses). Held back until its check (under 4 MiB), none
    # of its records is read: one reject, the first record; read as it decompresses (a larger member), the
    # records before the damage are read, and the rest of the member is one reject
    import dedup.io.gzip_members

    if not held:
        monkeypatch.setattr(dedup.io.gzip_members, "_HOLD", 1000, raising=False)
        monkeypatch.setattr(dedup.io.gzip_members, "_OUTPUT_CHUNK", 1000, raising=False)
    day1 = warc_bytes(_stories(18))
    starts = [m.start() for m in re.finditer(rb"WARC/1\.0\r\n", day1)]
    broken = next(number for number, start in enumerate(starts, 1) if start > 1 << 16)
    joined = _gzip_broken_at(day1, starts[broken - 1] + 2000) + zlib.compress(warc_bytes(_stories(2, first=20)),
                                                                              wbits=31)
    articles, rejects, warnings = _read_one(tmp_path, "joined.warc.gz", joined)
    stretch = 1 if held else broken   # it counts as one record: day2's warcinfo record is the next
    assert articles == [*range(2, stretch), stretch + 2, stretch + 3]
    [reject] = rejects
    assert (reject["record"], reject["reason"]) == (stretch, "malformed_warc")
    assert "the gzip member at byte 0 of the file is damaged (Error -3 while decompressing data: invalid block " \
           "type)" in reject["message"]
    assert "warc_damaged_member_read" not in warnings


@pytest.mark.parametrize("split", [False, True])
def test_a_damaged_check_of_a_member_too_large_to_hold_back(tmp_path, monkeypatch, split):
    # its output is handed out before its check: when the member ends with a record, that record and those
    # before it were read whole, and the damaged check is a warning; when it ends inside a record (a WARC gzipped
    # in two pieces cut anywhere), that record is one reject
    import dedup.io.gzip_members

    monkeypatch.setattr(dedup.io.gzip_members, "_HOLD", 1000, raising=False)
    data = warc_bytes(_stories(4))
    cut = [m.start() for m in re.finditer(rb"WARC/1\.0\r\n", data)][2 if split else 4] + (500 if split else 0)
    first = bytearray(zlib.compress(data[:cut], wbits=31))
    first[-8] ^= 1   # its CRC-32
    articles, rejects, warnings = _read_one(tmp_path, "crawl.warc.gz", bytes(first) + zlib.compress(data[cut:],
                                                                                                    wbits=31))
    if split:
        assert (articles, [(r["record"], r["reason"]) for r in rejects]) == ([2, 4, 5], [(3, "malformed_warc")])
        assert "warc_damaged_member_read" not in warnings
    else:
        assert (articles, rejects, warnings["warc_damaged_member_read"]) == ([2, 3, 4, 5], [], 1)


@pytest.mark.parametrize("error, articles, stretch", [(-300, [2, 3, 4, 6, 7, 8], 5), (3000, [2, 3, 4, 6, 7], 5)])
def test_a_wrong_content_length(tmp_path, error, articles, stretch):
    # too short: the record is read short, and the rest of it is one stretch before the next record; too long:
    # the record swallows the start of the next, whose rest is one stretch (the records it covers whole are part
    # of its payload, not records)
    data = warc_bytes(_stories(6))
    length = re.compile(rb"Content-Length: (\d+)").search(data, [m.start() for m in re.finditer(b"WARC/1.0", data)][3])
    data = data[:length.start(1)] + str(int(length.group(1)) + error).encode() + data[length.end(1):]
    got, rejects, warnings = _read_one(tmp_path, "crawl.warc", data)
    assert got == articles and [(r["record"], r["reason"]) for r in rejects] == [(stretch, "malformed_warc")]
    assert warnings["warc_bad_record_length"] == 1


def test_a_damaged_member_before_a_cut_end_is_one_reject_and_the_rest_another(tmp_path):
    data = warc_bytes(_stories(6), gzip=True)
    members = _gzip_members(data)
    (offset, length), (cut, _) = members[3], members[4]
    articles, rejects, _ = _read_one(tmp_path, "crawl.warc.gz", _spoil(data, offset + length // 2, 40)[:cut + 30])
    assert articles == [2, 3]
    assert [(r["record"], r["reason"]) for r in rejects] == [(None, "corrupt_compression"), (4, "malformed_warc")]


def test_damaged_members_thrown_away_count_for_the_bomb_guard(tmp_path):
    # members of 4 MiB of zeros (4 KiB each) whose check fails: their output is held back, then dropped, never
    # handed out; it must still count, or the file inflates a thousand times its size past the guard
    member = bytearray(gzip.compress(b"\0" * ((4 << 20) - 100), compresslevel=9))
    member[-8] ^= 1   # the CRC-32
    data = warc_bytes(_mixed()[:1], gzip=True) + bytes(member) * 60   # 240 MiB from 250 kB
    kept, rejects, _ = _read_one(tmp_path, "zeros.warc.gz", data)
    assert kept == [2] and sorted(r["reason"] for r in rejects) == ["decompression_bomb", "malformed_warc"], rejects


def test_a_member_held_back_over_the_bomb_budget_keeps_the_records_within_it(tmp_path):
    # a small WARC gzipped whole (one member, held until its check) that inflates past the budget part-way: as for
    # any compressed file, the records before the bomb point are kept; counting the held output as thrown away lost
    # them all
    pages = [{"uri": f"https://x.example/{i}", "content_type": "text/html",
              "body": b"<html><body><p>Item %d. " % i + b"The council met again today. " * 3400 + b"</p></body></html>"}
             for i in range(30)]
    data = gzip.compress(warc_bytes(pages), 9)
    kept, rejects, _ = _read_one(tmp_path, "whole.warc.gz", data)
    assert len(kept) > 10 and [r["reason"] for r in rejects] == ["decompression_bomb"], (kept, rejects)
