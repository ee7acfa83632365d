"""HTML pages: main text without boilerplate, metadata, paragraphs, charsets."""

import gzip
import json

import pytest

from dedup.io import read_inputs
from dedup.io.html import extract_article, looks_like_html
from tests.io.pages import (
    BOILERPLATE_STRINGS,
    INDEX_PAGE,
    NAV,
    classic_page,
    div_soup_page,
    paragraphs,
    warc_bytes,
)

BOILERPLATE = [NAV.split()[2], *BOILERPLATE_STRINGS]


def _only(res):
    assert res.rejects.height == 0, res.rejects.to_dicts()
    assert res.articles.height == 1
    return res.articles.row(0, named=True)


@pytest.mark.parametrize("layout", [classic_page, div_soup_page])
def test_main_text_keeps_paragraphs_and_drops_boilerplate(tmp_path, layout):
    paras = paragraphs(7)
    (tmp_path / "page.html").write_text(layout(paras), encoding="utf-8")
    art = _only(read_inputs([tmp_path]))
    assert art["text"] == "\n\n".join(paras)  # every paragraph, in order, one blank line apart
    for junk in BOILERPLATE:
        assert junk not in art["text"], junk


def test_metadata_from_open_graph(tmp_path):
    (tmp_path / "page.htm").write_text(classic_page(paragraphs(1)), encoding="utf-8")
    art = _only(read_inputs([tmp_path]))
    assert art["title"] == "Port strike enters third day"  # without the " | Harbour Gazette" suffix
    assert art["outlet"] == "Harbour Gazette"
    assert art["url"] == "https://www.harbour-gazette.example/news/port-strike"
    assert art["published"].isoformat() == "2026-11-27T07:15:00+00:00"  # the time is kept, in UTC
    assert art["source_record"] is None


def test_metadata_from_json_ld(tmp_path):
    (tmp_path / "page.html.gz").write_bytes(gzip.compress(div_soup_page(paragraphs(2)).encode()))
    art = _only(read_inputs([tmp_path]))
    assert art["title"] == "Storm closes coastal road" and art["outlet"] == "Coastal Times"
    assert art["published"].isoformat() == "2026-11-27T10:30:00+00:00"


def test_page_without_site_name_falls_back_to_host(tmp_path):
    page = (classic_page(paragraphs(3)).replace('<meta property="og:site_name" content="Harbour Gazette">', "")
            .replace("<title>Port strike enters third day | Harbour Gazette</title>", "<title>Port strike</title>"))
    (tmp_path / "p.html").write_text(page)
    assert _only(read_inputs([tmp_path]))["outlet"] == "harbour-gazette.example"


def test_misdeclared_and_legacy_charsets_are_decoded_and_counted(tmp_path):
    paras = ["Le café crème est très apprécié à Paris, où l'été dure longtemps cette année.",
             "Les élèves ont présenté leur requête au ministère de l'Éducation nationale hier soir.",
             "Le préfet a rappelé que la grève des dockers coûte cher aux entreprises de la région.",
             "Selon le syndicat, la négociation reprendra jeudi à la mairie après une pause forcée."]
    # declares UTF-8, is windows-1252: the usual template mistake
    (tmp_path / "a.html").write_bytes(classic_page(paras, title="A", url="https://a.example/1").encode("cp1252"))
    # declares iso-8859-1, is UTF-8
    (tmp_path / "b.html").write_bytes(classic_page(paras, title="B", charset="iso-8859-1", url="https://b.example/1")
                                      .encode("utf-8"))
    # declares koi8-r correctly (too short for any detector to guess)
    ru = ["Министр заявил во вторник, что забастовка в порту продлится ещё два дня.",
          "Профсоюз требует повышения зарплаты докерам и сохранения рабочих мест в гавани.",
          "Суда ожидают разгрузки на рейде, а грузовики выстроились в очередь у ворот порта.",
          "Переговоры возобновятся в четверг в здании городской администрации после перерыва."]
    (tmp_path / "c.html").write_bytes(classic_page(ru, charset="koi8-r", url="https://c.example/1").encode("koi8-r"))
    res = read_inputs([tmp_path])
    assert res.rejects.height == 0
    texts = sorted(res.articles["text"].to_list())
    assert texts.count("\n\n".join(paras)) == 2 and "\n\n".join(ru) in texts
    assert res.warnings["decoded_as_cp1252"] == 1 and res.warnings["decoded_as_koi8-r"] == 1
    assert res.warnings["charset_mismatch"] == 2


def test_pages_without_article_text_are_rejected_with_reason(tmp_path):
    (tmp_path / "empty.html").write_text("<html><head><title>x</title></head><body><img src='a.png'></body></html>")
    (tmp_path / "blank.html").write_text("   \n")
    (tmp_path / "binary.html").write_bytes(bytes(range(256)) * 20)
    res = read_inputs([tmp_path])
    reasons = {r["file"].rsplit("/", 1)[1]: r["reason"] for r in res.rejects.to_dicts()}
    assert reasons == {"empty.html": "html_no_text", "blank.html": "empty_file", "binary.html": "undecodable"}
    assert res.records == 3


def test_index_pages_do_not_crash():
    out = extract_article(INDEX_PAGE.encode())
    assert isinstance(out, dict) or out.reason == "html_no_text"


def test_html_sniffing():
    assert looks_like_html(b"\xef\xbb\xbf  <!-- x -->\n<!DOCTYPE html><html>")
    assert looks_like_html(b"<html lang='en'>") and looks_like_html(b"<HEAD><title>")
    assert not looks_like_html(b"%PDF-1.7") and not looks_like_html(b'{"html": 1}')


def test_a_port_in_the_url_is_not_part_of_the_outlet(tmp_path):
    # trafilatura names a page without a site name after its URL's host as written, port included
    def page(seed, head=""):
        return (f"<html><head>{head}<title>Port</title></head><body><article><p>{' '.join(paragraphs(seed))}</p>"
                "</article></body></html>")

    (tmp_path / "a.warc").write_bytes(warc_bytes([{"uri": "https://www.example.com:443/a",
                                                   "content_type": "text/html", "body": page(4).encode()}]))
    (tmp_path / "b.html").write_text(page(5, '<link rel="canonical" href="http://Example.com:8080/b">'))
    (tmp_path / "c.jsonl").write_text(json.dumps({"text": "Some text.", "url": "https://www.example.com:443/c"}) + "\n")
    res = read_inputs([tmp_path])
    assert res.rejects.height == 0
    assert res.articles["outlet"].to_list() == ["example.com"] * 3
