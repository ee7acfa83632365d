"""One run over a folder mixing every supported format, compression and kind of damage:
summary.json accounts for every file and every record."""

import bz2
import gzip
import io
import json
import lzma

import polars as pl

from dedup import run
from tests.conftest import make_story, zstd
from tests.io.pages import classic_page, div_soup_page, warc_bytes


def _corpus(root):
    story = make_story(42, 12)
    paras = [" ".join(story[i:i + 3]) for i in range(0, 12, 3)]  # 4 paragraphs
    text = "\n\n".join(paras)
    rec = lambda i, outlet, **kw: {"id": i, "outlet": outlet, "title": f"Version {i}", "text": text,
                                   "published": "2026-11-27T08:00:00Z", **kw}
    files = {}
    files["wire.jsonl.gz"] = gzip.compress((json.dumps(rec("w1", "Wire", published="2026-11-27T06:00:00Z")) + "\n"
                                            + "{broken\n").encode())
    files["outlets.ndjson.zst"] = zstd.compress(json.dumps(rec("n1", "Ledger")).encode())
    files["export.json.bz2"] = bz2.compress(json.dumps([rec("j1", "Courier"), [1, 2]]).encode())
    files["cms.csv.xz"] = lzma.compress(("id,outlet,text\nc1,Gazette,\"" + text + "\n\nLe café crème.\"\n").encode("cp1252"))
    buf = io.BytesIO()
    pl.DataFrame([rec("p1", "Times")]).write_parquet(buf)
    files["feed.parquet"] = buf.getvalue()
    files["pages/plain.txt"] = ("A plain version\n\n" + text).encode()
    files["pages/notes.md"] = ("# A markdown version\n\n" + "\n\n".join(paras[:3])).encode()
    files["pages/gazette.html"] = classic_page(paras, title="Gazette page").encode()
    files["pages/courier.htm.gz"] = gzip.compress(div_soup_page(paras[:3], publisher="Courier Web").encode())
    files["crawl/cc.warc.gz"] = warc_bytes([
        {"uri": "https://www.valley.example/story", "content_type": "text/html",
         "body": classic_page(paras, site="Valley Post", title="Valley page").encode()},
        {"type": "request", "uri": "https://www.valley.example/story"},
        {"uri": "https://www.valley.example/gone", "status": "404 Not Found", "content_type": "text/html",
         "body": b"<html>gone</html>"},
        {"uri": "https://www.valley.example/a.pdf", "content_type": "application/pdf", "body": b"%PDF-1.7"},
    ], gzip=True)
    files["broken/empty.jsonl"] = b""
    files["broken/bomb.jsonl.gz"] = gzip.compress(b"\n" * (4 << 20))
    files["broken/cut.json.gz"] = gzip.compress(json.dumps([rec("x", "X")] * 50).encode())[:200]
    files["broken/binary.txt"] = bytes(range(256)) * 8
    files["broken/bad.parquet"] = b"PAR1 this is not parquet PAR1"
    files["broken/nav.html"] = b"<html><body><img src='a.png'></body></html>"
    files["notes.docx"] = b"PK\x03\x04 ignored"
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def test_every_file_and_record_is_accounted_for(tmp_path):
    files = _corpus(tmp_path / "in")
    result = run([tmp_path / "in"], tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    a = summary["articles"]
    assert a["read"] == a["clustered"] + a["rejected"] == summary["inputs"]["records"]
    assert a["rejected_by_reason"] == {
        "corrupt_compression": 1, "decompression_bomb": 1, "empty_file": 1, "html_no_text": 1,
        "malformed_json": 1, "malformed_parquet": 1, "not_an_object": 1, "undecodable": 1,
        "warc_not_html": 1, "warc_status_404": 1,
    }
    assert a["warnings_by_reason"]["decoded_as_cp1252"] == 1
    assert a["warnings_by_reason"]["warc_skipped_request"] == 1
    assert summary["inputs"]["files"] == len(files) - 1
    assert summary["inputs"]["skipped_files"] == [str(tmp_path / "in" / "notes.docx")]
    # every file read shows up as an article's source or a reject's file
    seen = set(result.articles["source_file"]) | set(result.rejects["file"])
    assert seen == {str(tmp_path / "in" / n) for n in files if n != "notes.docx"}
    # and the versions of the story, from every format, form one cluster
    clusters = result.clusters
    # each clustered article says where it was read from, as the articles frame does
    where = ["article_id", "source_file", "source_record"]
    assert clusters.select(where).sort("article_id").equals(result.articles.select(where).sort("article_id"))
    assert clusters["source_file"].n_unique() == clusters.height   # one version of the story per file
    story = clusters.filter(pl.col("cluster_size") > 1)
    assert story["cluster_id"].n_unique() == 1 and story.height == clusters.height == a["clustered"] == 10
    assert story.filter(pl.col("is_canonical"))["article_id"].to_list() == ["w1"]
