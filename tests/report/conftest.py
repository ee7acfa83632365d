"""Small hand-made frames, following dedup.schema, for the report tests.

Three stories and two single articles:

* ``quake`` (4 outlets): the canonical Reuters text has four sentences and
  its own SENTENCES rows. Daily Bugle edits sentence 2, drops sentence 3 and
  adds a quote (family 10) that Courier later copies (a LINKS row);
  Gazette drops the last two sentences.
* ``vote`` (2 outlets): no SENTENCES rows for the canonical article, so the
  report pieces the canonical text together from the other version.
* ``payload`` (3 outlets): every untrusted field carries an attack or broken
  Unicode. The payloads set ``window.__pwned`` if they ever run.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from dedup.schema import CLUSTERS, LINKS, REJECTS, SENTENCES, conform

PWN = "window.__pwned=1"
PAYLOADS = {
    "script": f"<script>{PWN}</script>",
    "img": f'<img src=x onerror="{PWN}">',
    "close": f"</script><script>{PWN}</script><!--",
    "svg": f"<svg onload={PWN}>",
    "js_url": f"javascript:{PWN}",
    "js_url_spaced": f" JaVaScRiPt:{PWN}",
    "data_url": "data:text/html,<script>window.__pwned=1</script>",
    "remote_img_url": "http://198.51.100.7/pixel.png",
    # Polars strings cannot hold lone surrogates; those are tested through summary.json and rejected.jsonl.
    "broken": "Caf\ufffd \u202eevil\u202c \u2028line\u2029 \x00nul \x1b[31mred \U0001F600 \ufeffbom \u200b\uffff",
}


def _t(hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 5, 1, hour, minute, tzinfo=timezone.utc)


def _article(cluster, aid, outlet, title, hour, url, canonical, size, n_outlets, similarity=0.9):
    return {"article_id": aid, "outlet": outlet, "title": title, "published": _t(hour), "url": url,
            "source_file": "night.jsonl", "source_record": hour, "cluster_id": cluster, "cluster_size": size, "n_outlets": n_outlets, "is_canonical": canonical,
            "canonical_id": None, "similarity": 1.0 if canonical else similarity,
            "jaccard": 1.0 if canonical else similarity - 0.1, "n_shingles": 120, "n_boilerplate": 0, "note": None}


QUAKE = ["A strong earthquake struck the coast on Tuesday.", "At least 12 people were injured, officials said.",
         "The quake had a magnitude of 6.1.", "Rescue teams are searching collapsed buildings."]
VOTE = ["Voters went to the polls in the capital.", "Turnout was higher than expected."]


def _clusters() -> pl.DataFrame:
    rows = [
        _article("c-quake", "reu-1", "Reuters", "Earthquake hits coast", 6, "https://reuters.example/q", True, 4, 4),
        _article("c-quake", "bug-1", "Daily Bugle", "Quake injures 12", 7, "https://bugle.example/q?id=1&x=2",
                 False, 4, 4, 0.8),
        _article("c-quake", "cou-1", "Courier", "Earthquake: 12 hurt", 9, "http://courier.example/q", False, 4, 4),
        _article("c-quake", "gaz-1", "Gazette", "Coast quake", 8, None, False, 4, 4, 0.6),
        _article("c-vote", "ap-1", "AP", "Polls open in capital", 5, "https://ap.example/vote", True, 2, 2),
        _article("c-vote", "bug-2", "Daily Bugle", "Capital votes", 10, "https://bugle.example/vote", False, 2, 2),
        _article("c-payload", "evil-1", PAYLOADS["close"], PAYLOADS["script"], 3, PAYLOADS["js_url"], True, 3, 3),
        _article("c-payload", "evil-2", PAYLOADS["img"], PAYLOADS["broken"], 4, PAYLOADS["data_url"], False, 3, 3),
        _article("c-payload", "evil-3", PAYLOADS["svg"], PAYLOADS["img"], 4, PAYLOADS["js_url_spaced"], False, 3, 3),
        _article("s-1", "solo-1", "Courier", "Local fair opens", 12, "https://courier.example/fair", True, 1, 1, 1.0),
        _article("s-2", "solo-2", None, None, 13, None, True, 1, 1, 1.0),
    ]
    for row in rows:
        row["canonical_id"] = {"c-quake": "reu-1", "c-vote": "ap-1", "c-payload": "evil-1"}.get(row["cluster_id"],
                                                                                             row["article_id"])
    rows[-1]["published"] = None
    return conform(pl.DataFrame(rows), CLUSTERS, "test clusters")


def _s(cluster, aid, outlet, status, pos, text, cpos, fam, sim=1.0, diff=None):
    return {"cluster_id": cluster, "article_id": aid, "outlet": outlet, "status": status, "position": pos,
            "text": text, "canonical_position": cpos, "similarity": sim, "family_id": fam, "char_start": 0,
            "char_end": len(text), "word_diff": diff}


QUOTE = '"We felt the whole building shake," a resident said.'


def _sentences() -> pl.DataFrame:
    edited = "At least 12 people were hurt, officials said."
    diff = [{"op": "=", "text": "At least 12 people were "}, {"op": "-", "text": "injured"},
            {"op": "+", "text": "hurt"}, {"op": "=", "text": ", officials said."}]
    rows = [_s("c-quake", "reu-1", "Reuters", "kept", i, t, i, i) for i, t in enumerate(QUAKE)]
    rows += [
        _s("c-quake", "bug-1", "Daily Bugle", "kept", 0, QUAKE[0], 0, 0),
        _s("c-quake", "bug-1", "Daily Bugle", "edited", 1, edited, 1, 1, 0.8, diff),
        _s("c-quake", "bug-1", "Daily Bugle", "added", 2, QUOTE, None, 10, None),
        _s("c-quake", "bug-1", "Daily Bugle", "kept", 3, QUAKE[3], 3, 3),
        _s("c-quake", "bug-1", "Daily Bugle", "dropped", 2, QUAKE[2], 2, 2, None),
        *[_s("c-quake", "cou-1", "Courier", "kept", i, t, i, i) for i, t in enumerate(QUAKE)],
        _s("c-quake", "cou-1", "Courier", "added", 4, QUOTE, None, 10, None),
        _s("c-quake", "gaz-1", "Gazette", "kept", 0, QUAKE[0], 0, 0),
        _s("c-quake", "gaz-1", "Gazette", "kept", 1, QUAKE[1], 1, 1),
        _s("c-quake", "gaz-1", "Gazette", "dropped", 2, QUAKE[2], 2, 2, None),
        _s("c-quake", "gaz-1", "Gazette", "dropped", 3, QUAKE[3], 3, 3, None),
        _s("c-vote", "bug-2", "Daily Bugle", "kept", 0, VOTE[0], 0, 0),
        _s("c-vote", "bug-2", "Daily Bugle", "kept", 1, VOTE[1], 1, 1),
        _s("c-vote", "bug-2", "Daily Bugle", "added", 2, "Results are due on Friday.", None, 5, None),
        _s("c-payload", "evil-1", PAYLOADS["close"], "kept", 0, PAYLOADS["script"], 0, 0),
        _s("c-payload", "evil-1", PAYLOADS["close"], "kept", 1, PAYLOADS["broken"], 1, 1),
        _s("c-payload", "evil-2", PAYLOADS["img"], "kept", 0, PAYLOADS["script"], 0, 0),
        _s("c-payload", "evil-2", PAYLOADS["img"], "edited", 1, PAYLOADS["img"], 1, 1, 0.5,
           [{"op": "-", "text": PAYLOADS["broken"]}, {"op": "+", "text": PAYLOADS["img"]}]),
        _s("c-payload", "evil-2", PAYLOADS["img"], "added", 2, PAYLOADS["close"], None, 7, None),
        _s("c-payload", "evil-3", PAYLOADS["svg"], "dropped", 0, PAYLOADS["script"], 0, 0, None),
        _s("c-payload", "evil-3", PAYLOADS["svg"], "kept", 0, PAYLOADS["broken"], 1, 1),
        _s("c-payload", "evil-3", PAYLOADS["svg"], "added", 1, PAYLOADS["close"], None, 7, None),
    ]
    return conform(pl.DataFrame(rows, schema_overrides={"word_diff": SENTENCES["word_diff"]}), SENTENCES,
                   "test sentences")


def _links() -> pl.DataFrame:
    rows = [{"cluster_id": "c-quake", "family_id": 10, "first_article_id": "bug-1", "first_outlet": "Daily Bugle",
             "article_id": "cou-1", "outlet": "Courier", "n_sentences": 1},
            {"cluster_id": "c-payload", "family_id": 7, "first_article_id": "evil-2", "first_outlet": PAYLOADS["img"],
             "article_id": "evil-3", "outlet": PAYLOADS["svg"], "n_sentences": 1}]
    return conform(pl.DataFrame(rows), LINKS, "test links")


def _rejects() -> pl.DataFrame:
    rows = [{"file": "feed.jsonl", "record": 7, "article_id": None, "reason": "malformed_json",
             "message": f"expected a JSON object {PAYLOADS['script']}"},
            {"file": "feed.jsonl", "record": 9, "article_id": "x", "reason": "empty_text", "message": "no text"},
            {"file": PAYLOADS["img"], "record": None, "article_id": None, "reason": "malformed_json",
             "message": "not JSON"}]
    return conform(pl.DataFrame(rows), REJECTS, "test rejects")


SUMMARY = {
    "dedup_version": "0.1.0",
    "inputs": {"files": 2, "records": 14},
    "articles": {"read": 14, "clustered": 11, "rejected": 3,
                 "rejected_by_reason": {"empty_text": 1, "malformed_json": 2}},
    "clusters": {"stories": 3, "singletons": 2, "largest": 4, "duplicates": 6},
    "parameters": {"cluster": {"threshold": 0.5, "wire_outlets": ["Reuters", "AP"]}, "minhash": {"num_perm": 128}},
    "fingerprint": "0123456789abcdef",
    "pipeline": {"lsh": {"candidate_pairs": 20}},
}


@pytest.fixture
def frames() -> dict:
    return {"clusters": _clusters(), "sentences": _sentences(), "links": _links(), "summary": dict(SUMMARY),
            "rejects": _rejects()}


@pytest.fixture
def run_dir(tmp_path: Path, frames: dict) -> Path:
    """An output folder as `dedup cluster` leaves it."""
    import json
    frames["clusters"].write_parquet(tmp_path / "clusters.parquet")
    frames["sentences"].write_parquet(tmp_path / "sentences.parquet")
    frames["links"].write_parquet(tmp_path / "links.parquet")
    (tmp_path / "summary.json").write_text(json.dumps(frames["summary"], sort_keys=True, indent=2))
    with open(tmp_path / "rejected.jsonl", "w", encoding="utf-8") as handle:
        for row in frames["rejects"].to_dicts():
            handle.write(json.dumps(row) + "\n")
    return tmp_path



@pytest.fixture
def payloads() -> dict:
    return dict(PAYLOADS)

