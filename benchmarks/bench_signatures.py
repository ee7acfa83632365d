"""Signature throughput (articles/s): ours against datasketch and rensa on identical shingles (issue 6).

Corpus: the first ``--n`` articles of ``--corpus`` (any ``dedup`` input, e.g.
``/tmp/synd.jsonl``), or else of a syndication corpus simulated from the
Reuters-21578 wire stories in the eval-data folder (``DEDUP_EVAL_DATA``);
exits 0 with a "skipped" message when neither is there.

Every article is reduced once, before any timing, to the same shingles: its
tokens (:func:`dedup.normalize.tokenize`) in windows of ``--size`` (4)
tokens, distinct. They are given to each contender in its own input form:

* ``shingle bytes``: each shingle as the UTF-8 bytes of its tokens joined by a
  space (a Python list of bytes per article);
* ``shingle hashes``: our 32-bit hash of each shingle (flat uint32 + offsets);
* ``token hashes``: the xxh3-64 of each token in text order (flat uint64 + offsets),
  from which ours derives the shingle hashes.

Rows (each: ``N`` / median wall time of ``--repeats`` runs, all in this process,
interleaved run by run so that background load hits every row alike;
``num_perm`` 128, seed 1):

==================================  =============================================================
``datasketch default``              one ``MinHash(128, seed=1)`` per article (default scheme and
                                    ``sha1_hash32``) + ``update_batch(shingle bytes)`` + ``hashvalues``
``datasketch xxh32``                the same with ``hashfunc=xxhash.xxh32_intdigest``
``datasketch affine32, prehashed``  ``MinHash(128, 1, scheme="affine32", hashfunc=identity)`` fed our
                                    shingle hashes: the bytes->uint32 hashing removed (what ours equals)
``rensa RMinHash``                  one ``RMinHash(128, 1)`` per article + ``update(shingle bytes)`` + ``digest()``
``rensa bulk``                      ``RMinHash.digest_matrix_from_token_sets`` (all articles' shingle bytes)
``rensa bulk, prehashed``           ``RMinHash.digest_matrix_from_flat_token_hashes`` fed our shingle hashes
``ours, from shingle hashes``       :func:`dedup.minhash.sign_flat`: (N, 128) matrix from the flat
                                    shingle hashes (both cores)
``ours, from token hashes``         :func:`dedup.shingle.shingle_token_hashes` (window hashes, text order
                                    and per-article sorted distinct, as the SHINGLES frame needs) +
                                    ``sign_flat``: the whole path from an article's token hashes to
                                    its signature
``ours, from shingle bytes``        ``xxhash.xxh32_intdigest`` of every shingle's bytes (Python) +
                                    ``sign_flat``: what a caller holding only bytes would pay
``ours, from text``                 :func:`dedup.shingle.shingle_flat` + ``sign_flat``: normalise,
                                    tokenise, hash tokens, windows, distinct, sign (no bytes are built)
``bytes -> uint32 (sha1_hash32)``   datasketch's ``sha1_hash32`` over every shingle's bytes, alone
``bytes -> uint32 (xxh32)``         ``xxhash.xxh32_intdigest`` over every shingle's bytes, alone
==================================  =============================================================

rensa and datasketch sign with their own schemes (only ``datasketch affine32``
equals ours bit for bit, which the tests check); rows are skipped when rensa
(``pip install -e '.[bench]'``) is missing. Run::

    python benchmarks/bench_signatures.py --corpus /tmp/synd.jsonl --n 5000
    python benchmarks/bench_signatures.py --n-stories 1500 --json sig.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import datasketch
import numpy as np
import xxhash

import dedup.shingle as shingle_mod
from dedup.config import ShingleConfig
from dedup.minhash import sign_flat
from dedup.normalize import tokenize
from dedup.shingle import hash_tokens, shingle_flat, shingle_token_hashes

NUM_PERM, SEED = 128, 1


def _texts(args: argparse.Namespace) -> list[str] | None:
    if args.corpus:
        from dedup.io import read_inputs
        return read_inputs([args.corpus]).articles["text"].to_list()[:args.n]
    from benchmarks.syndication import ReutersNotFound, build_corpus
    try:
        return build_corpus(args.n_stories, seed=7)["text"].to_list()[:args.n]
    except ReutersNotFound as exc:
        print(f"skipped: no --corpus and no Reuters-21578 data ({exc})")
        return None


def _shingle_bytes(texts: list[str], size: int) -> list[list[bytes]]:
    out = []
    for text in texts:
        tokens = tokenize(text)
        k = min(size, len(tokens))
        windows = {" ".join(tokens[i:i + k]).encode("utf-8", "surrogatepass") for i in range(len(tokens) - k + 1)}
        out.append(sorted(windows) if tokens else [])
    return out


def _contenders(texts: list[str], size: int) -> dict[str, callable]:
    config = ShingleConfig(size=size)
    sets = _shingle_bytes(texts, size)
    flat = shingle_flat(texts, config)
    token_hashes, token_offsets = hash_tokens(texts)
    values, offsets = flat.values, flat.offsets
    n = len(texts)

    def datasketch_rows(**kwargs):
        def run():
            for shingles in sets:
                m = datasketch.MinHash(num_perm=NUM_PERM, seed=SEED, **kwargs)
                m.update_batch(shingles)
                m.hashvalues
        return run

    def datasketch_prehashed():
        for i in range(n):
            m = datasketch.MinHash(NUM_PERM, SEED, scheme="affine32", hashfunc=int)
            m.update_batch(values[offsets[i]:offsets[i + 1]].tolist())
            m.hashvalues

    def ours_from_token_hashes():
        f = shingle_token_hashes(token_hashes, token_offsets, size)
        return sign_flat(f.values, f.offsets, num_perm=NUM_PERM, seed=SEED)

    def ours_from_bytes():
        hashed = np.fromiter((xxhash.xxh32_intdigest(s) for shingles in sets for s in shingles), dtype=np.uint32,
                             count=sum(map(len, sets)))
        lengths = np.zeros(n + 1, dtype=np.int64)
        np.cumsum([len(s) for s in sets], out=lengths[1:])
        return sign_flat(hashed, lengths, num_perm=NUM_PERM, seed=SEED)

    def ours_from_text():
        f = shingle_flat(texts, config)
        return sign_flat(f.values, f.offsets, num_perm=NUM_PERM, seed=SEED)

    rows = {
        "datasketch default": datasketch_rows(),
        "datasketch xxh32": datasketch_rows(hashfunc=xxhash.xxh32_intdigest),
        "datasketch affine32, prehashed": datasketch_prehashed,
        "ours, from shingle hashes": lambda: sign_flat(values, offsets, num_perm=NUM_PERM, seed=SEED),
        "ours, from token hashes": ours_from_token_hashes,
        "ours, from shingle bytes": ours_from_bytes,
        "ours, from text": ours_from_text,
        "bytes -> uint32 (sha1_hash32)": lambda: [datasketch.minhash.sha1_hash32(s) for ss in sets for s in ss],
        "bytes -> uint32 (xxh32)": lambda: [xxhash.xxh32_intdigest(s) for ss in sets for s in ss],
    }
    try:
        from rensa import RMinHash
    except ImportError:
        print("rensa not installed (pip install -e '.[bench]'): its rows are skipped", file=sys.stderr)
    else:
        def rensa_objects():
            for shingles in sets:
                m = RMinHash(NUM_PERM, SEED)
                m.update(shingles)
                m.digest()
        rows["rensa RMinHash"] = rensa_objects
        rows["rensa bulk"] = lambda: RMinHash.digest_matrix_from_token_sets(sets, NUM_PERM, SEED)
        rows["rensa bulk, prehashed"] = lambda: RMinHash.digest_matrix_from_flat_token_hashes(
            values.astype(np.uint64), offsets.astype(np.uint64), NUM_PERM, SEED)
    assert np.array_equal(ours_from_token_hashes(), ours_from_text())
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", help="a dedup input (file or folder); default: simulate from Reuters-21578")
    parser.add_argument("--n-stories", type=int, default=1500, help="stories to simulate without --corpus")
    parser.add_argument("--n", type=int, default=5000, help="articles to sign")
    parser.add_argument("--size", type=int, default=4, help="tokens per shingle")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    texts = _texts(args)
    if texts is None:
        return 0
    t0 = time.perf_counter()
    sign_flat(np.arange(10, dtype=np.uint32), np.array([0, 10]), num_perm=NUM_PERM, seed=SEED)
    shingle_flat(["warm up the kernels"])
    warmup = time.perf_counter() - t0
    rows = _contenders(texts, args.size)
    times: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(args.repeats):
        for name, run in rows.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    n = len(texts)
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    base = n / medians["datasketch default"]
    rensa = max((n / medians[k] for k in ("rensa RMinHash", "rensa bulk") if k in medians), default=None)
    result = {
        "machine": f"{platform.machine()}, {shingle_mod._THREADS} threads, Python {platform.python_version()}",
        "articles": n, "shingles": int(shingle_flat(texts, ShingleConfig(size=args.size)).values.size),
        "repeats": args.repeats, "first_call_seconds": round(warmup, 2),
        "rows": {name: {"median_s": round(m, 4), "articles_per_s": round(n / m),
                        "x_datasketch_default": round(n / m / base, 2),
                        "x_rensa_best_from_bytes": round(n / m / rensa, 2) if rensa else None}
                 for name, m in medians.items()},
    }
    print(f"{n} articles, {result['shingles']} distinct shingles, median of {args.repeats}; {result['machine']}")
    print("| contender | median s | articles/s | × datasketch default | × best rensa from bytes |")
    print("|---|---:|---:|---:|---:|")
    for name, row in result["rows"].items():
        print(f"| {name} | {row['median_s']} | {row['articles_per_s']:,} | {row['x_datasketch_default']} | "
              f"{row['x_rensa_best_from_bytes'] if rensa else 'n/a'} |")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
