"""WARC archives: one article per HTML response; every other response rejected with its reason."""

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
