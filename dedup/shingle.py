"""Shingles: articles to sets of 32-bit shingle hashes (the SHINGLES frame).

A shingle is ``size`` consecutive tokens (see :mod:`dedup.normalize`). Each
token is hashed with xxh3-64 of its UTF-8 bytes; a shingle's hash is a
polynomial combination of its tokens' hashes folded to 32 bits (see
:func:`window_hashes`). Texts shorter than ``size`` tokens give one shingle of
all their tokens.

32-bit shingle hashes are what datasketch's ``affine32`` scheme consumes, so
our signatures can be checked against ``datasketch.MinHash`` bit for bit.

Speed. After normalisation (Python's ``unicodedata``), everything runs in
numba kernels over a whole batch of texts, one contiguous range of texts per
thread (:func:`parallel_ranges`): the tokenizer reads the UTF-8 bytes with the
code point table of :func:`dedup.normalize.token_classes` and hashes each
token where it lies with a port of xxh3-64 (:func:`xxh3_64`); the windows of
each text are then combined, sorted and made distinct. Each text's output has
a fixed place, so results do not depend on the number of threads. The
batched, flat API is :func:`shingle_flat` (and :func:`hash_tokens`); the tests
check it against :func:`dedup.normalize.tokenize`, ``xxhash`` and
:func:`window_hashes`, which stay the reference.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, NamedTuple

import numba
import numpy as np
import polars as pl

from dedup.config import ShingleConfig
from dedup.normalize import ALONE, RUN, normalize, token_classes
from dedup.schema import SHINGLES, conform, list_series

_MULT = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constant (golden ratio)
_THREADS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
_MIN_PARALLEL = 1 << 16                # smaller inputs (bytes, shingles...) run in the calling thread

# -- threads --------------------------------------------------------------------------------------


def parallel_ranges(kernel: Callable[[int, int], None], offsets: np.ndarray, threads: int | None = None) -> None:
    """Call ``kernel(first, last)`` on contiguous item ranges of about equal weight, in threads.

    ``offsets`` (``n + 1`` entries) weighs item ``i`` as ``offsets[i+1] -
    offsets[i]``. ``kernel`` must be a ``nogil`` numba function writing each
    item's output to a place fixed in advance, so the result does not depend
    on the number of threads.
    """
    n = len(offsets) - 1
    threads = _THREADS if threads is None else threads
    if n <= 0:
        return
    if threads <= 1 or offsets[-1] - offsets[0] < _MIN_PARALLEL:
        kernel(0, n)
        return
    targets = np.linspace(offsets[0], offsets[-1], 4 * threads + 1)[1:-1]
    cuts = np.unique(np.concatenate([[0], np.searchsorted(offsets, targets), [n]]))
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(kernel, int(lo), int(hi)) for lo, hi in zip(cuts[:-1], cuts[1:])]:
            future.result()


# -- xxh3-64 (seed 0), a port of xxhash 0.8's XXH3_64bits --------------------------------------------

_SECRET = np.array([
    0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
    0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
    0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
    0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
    0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
    0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
    0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
    0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
    0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
    0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
    0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
    0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
], dtype=np.uint8)
_P32_1, _P32_2, _P32_3 = np.uint64(0x9E3779B1), np.uint64(0x85EBCA77), np.uint64(0xC2B2AE3D)
_P64_1, _P64_2, _P64_3 = np.uint64(0x9E3779B185EBCA87), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9)
_P64_4, _P64_5 = np.uint64(0x85EBCA77C2B2AE63), np.uint64(0x27D4EB2F165667C5)
_MX1, _MX2 = np.uint64(0x165667919E3779F9), np.uint64(0x9FB21C651E98DF25)
_LO32 = np.uint64(0xFFFFFFFF)
# The secret read as little-endian 64- and 32-bit words at every byte offset.
_SECRET64 = np.array([int.from_bytes(_SECRET[i:i + 8].tobytes(), "little") for i in range(185)], dtype=np.uint64)
_SECRET32 = np.array([int.from_bytes(_SECRET[i:i + 4].tobytes(), "little") for i in range(189)], dtype=np.uint64)
_INIT_ACC = np.array([_P32_3, _P64_1, _P64_2, _P64_3, _P64_4, _P32_2, _P64_5, _P32_1], dtype=np.uint64)

_jit = numba.njit(cache=True, nogil=True)


@_jit
def _read(buf, pos, nbytes):
    """Little-endian unsigned integer of ``nbytes`` bytes at ``buf[pos]``."""
    v = np.uint64(0)
    for i in range(nbytes):
        v |= np.uint64(buf[pos + i]) << np.uint64(8 * i)
    return v


@_jit
def _fold128(lhs, rhs):
    """Low 64 bits xor high 64 bits of the 128-bit product (XXH3_mul128_fold64)."""
    s32 = np.uint64(32)
    lo_lo = (lhs & _LO32) * (rhs & _LO32)
    hi_lo = (lhs >> s32) * (rhs & _LO32)
    lo_hi = (lhs & _LO32) * (rhs >> s32)
    cross = (lo_lo >> s32) + (hi_lo & _LO32) + lo_hi
    upper = (hi_lo >> s32) + (cross >> s32) + (lhs >> s32) * (rhs >> s32)
    return ((cross << s32) | (lo_lo & _LO32)) ^ upper


@_jit
def _avalanche(h):
    h ^= h >> np.uint64(37)
    h *= _MX1
    return h ^ (h >> np.uint64(32))


@_jit
def _avalanche64(h):
    h ^= h >> np.uint64(33)
    h *= _P64_2
    h ^= h >> np.uint64(29)
    h *= _P64_3
    return h ^ (h >> np.uint64(32))


@_jit
def _mix16(buf, pos, sec):
    return _fold128(_read(buf, pos, 8) ^ _SECRET64[sec], _read(buf, pos + 8, 8) ^ _SECRET64[sec + 8])


@_jit
def _accumulate(acc, buf, pos, sec):
    for lane in range(8):
        value = _read(buf, pos + 8 * lane, 8)
        key = value ^ _SECRET64[sec + 8 * lane]
        acc[lane ^ 1] += value
        acc[lane] += (key & _LO32) * (key >> np.uint64(32))


@_jit
def _hash_long(buf, start, n):
    acc = _INIT_ACC.copy()
    blocks = (n - 1) // 1024  # 16 stripes of 64 bytes per block with the 192-byte secret
    for block in range(blocks):
        for stripe in range(16):
            _accumulate(acc, buf, start + block * 1024 + stripe * 64, stripe * 8)
        for lane in range(8):
            a = acc[lane]
            a ^= a >> np.uint64(47)
            a ^= _SECRET64[128 + 8 * lane]
            acc[lane] = a * _P32_1
    for stripe in range(((n - 1) - 1024 * blocks) // 64):
        _accumulate(acc, buf, start + blocks * 1024 + stripe * 64, stripe * 8)
    _accumulate(acc, buf, start + n - 64, 192 - 64 - 7)
    result = np.uint64(n) * _P64_1
    for i in range(4):
        result += _fold128(acc[2 * i] ^ _SECRET64[11 + 16 * i], acc[2 * i + 1] ^ _SECRET64[19 + 16 * i])
    return _avalanche(result)


@_jit
def xxh3_64(buf, start, n):
    """``xxhash.xxh3_64_intdigest(bytes(buf[start:start + n]))`` (seed 0), in numba."""
    length = np.uint64(n)
    if n > 240:
        return _hash_long(buf, start, n)
    if n > 128:
        acc = length * _P64_1
        for i in range(8):
            acc += _mix16(buf, start + 16 * i, 16 * i)
        acc_end = _mix16(buf, start + n - 16, 136 - 17)
        acc = _avalanche(acc)
        for i in range(8, n // 16):
            acc_end += _mix16(buf, start + 16 * i, 16 * (i - 8) + 3)
        return _avalanche(acc + acc_end)
    if n > 16:
        acc = length * _P64_1
        if n > 32:
            if n > 64:
                if n > 96:
                    acc += _mix16(buf, start + 48, 96) + _mix16(buf, start + n - 64, 112)
                acc += _mix16(buf, start + 32, 64) + _mix16(buf, start + n - 48, 80)
            acc += _mix16(buf, start + 16, 32) + _mix16(buf, start + n - 32, 48)
        acc += _mix16(buf, start, 0) + _mix16(buf, start + n - 16, 16)
        return _avalanche(acc)
    if n > 8:
        lo = _read(buf, start, 8) ^ _SECRET64[24] ^ _SECRET64[32]
        hi = _read(buf, start + n - 8, 8) ^ _SECRET64[40] ^ _SECRET64[48]
        swapped = np.uint64(0)
        for i in range(8):
            swapped |= ((lo >> np.uint64(8 * i)) & np.uint64(0xFF)) << np.uint64(56 - 8 * i)
        return _avalanche(length + swapped + hi + _fold128(lo, hi))
    if n >= 4:
        h = (_read(buf, start + n - 4, 4) + (_read(buf, start, 4) << np.uint64(32))) \
            ^ _SECRET64[8] ^ _SECRET64[16]
        h ^= ((h << np.uint64(49)) | (h >> np.uint64(15))) ^ ((h << np.uint64(24)) | (h >> np.uint64(40)))
        h *= _MX2
        h ^= (h >> np.uint64(35)) + length
        h *= _MX2
        return h ^ (h >> np.uint64(28))
    if n > 0:
        combined = (np.uint64(buf[start]) << np.uint64(16)) | (np.uint64(buf[start + (n >> 1)]) << np.uint64(24)) \
            | np.uint64(buf[start + n - 1]) | (length << np.uint64(8))
        return _avalanche64(combined ^ _SECRET32[0] ^ _SECRET32[4])
    return _avalanche64(_SECRET64[56] ^ _SECRET64[64])


# -- tokens ---------------------------------------------------------------------------------------


@_jit
def _char(buf, pos):
    """(code point, byte length) of the UTF-8 (or surrogatepass) character at ``buf[pos]``."""
    b0 = np.int64(buf[pos])
    if b0 < 0x80:
        return b0, 1
    if b0 < 0xE0:
        return ((b0 & 0x1F) << 6) | (np.int64(buf[pos + 1]) & 0x3F), 2
    if b0 < 0xF0:
        return ((b0 & 0x0F) << 12) | ((np.int64(buf[pos + 1]) & 0x3F) << 6) | (np.int64(buf[pos + 2]) & 0x3F), 3
    return (((b0 & 0x07) << 18) | ((np.int64(buf[pos + 1]) & 0x3F) << 12)
            | ((np.int64(buf[pos + 2]) & 0x3F) << 6) | (np.int64(buf[pos + 3]) & 0x3F)), 4


@_jit
def _scan_tokens(buf, starts, table, first, last, counts, out, out_offsets, write):
    """Count (``write`` False) or hash (True) the tokens of texts ``first..last-1``."""
    for t in range(first, last):
        pos, end = starts[t], starts[t + 1]
        k = 0
        w = out_offsets[t] if write else 0
        while pos < end:
            cp, size = _char(buf, pos)
            cls = table[cp]
            if cls & ALONE:
                stop = pos + size
            elif cls & RUN:
                stop = pos + size
                while stop < end:
                    cp, size = _char(buf, stop)
                    if not table[cp] & RUN:
                        break
                    stop += size
            else:
                pos += size
                continue
            if write:
                out[w + k] = xxh3_64(buf, pos, stop - pos)
            k += 1
            pos = stop
        counts[t] = k


def hash_tokens(texts: list[str], *, threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """xxh3-64 of every token of every text, flat: ``(hashes uint64, offsets int64)``. Stateless.

    Text ``i``'s token hashes, in text order, are ``hashes[offsets[i]:offsets[i+1]]``;
    they equal ``xxh3_64_intdigest(token.encode())`` for ``token`` in
    :func:`dedup.normalize.tokenize` of the text.
    """
    return _hash_encoded([normalize(t).encode("utf-8", "surrogatepass") for t in texts], threads)


def _hash_encoded(encoded: list[bytes], threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`hash_tokens` of already normalised, encoded texts."""
    texts = encoded
    starts = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=starts[1:])
    buf = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    table = token_classes()
    counts = np.zeros(len(texts), dtype=np.int64)
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    hashes = np.empty(0, dtype=np.uint64)
    parallel_ranges(lambda lo, hi: _scan_tokens(buf, starts, table, lo, hi, counts, hashes, offsets, False),
                    starts, threads)
    np.cumsum(counts, out=offsets[1:])
    hashes = np.empty(offsets[-1], dtype=np.uint64)
    parallel_ranges(lambda lo, hi: _scan_tokens(buf, starts, table, lo, hi, counts, hashes, offsets, True),
                    starts, threads)
    return hashes, offsets


# -- shingles -------------------------------------------------------------------------------------


def window_hashes(token_hashes: np.ndarray, size: int) -> np.ndarray:
    """32-bit hashes of every ``size``-token window (one window of all tokens if fewer).

    The reference for :func:`shingle_flat` (numpy, one text).
    """
    n = len(token_hashes)
    if n == 0:
        return np.empty(0, dtype=np.uint32)
    k = min(size, n)
    windows = n - k + 1
    acc = np.zeros(windows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):
            acc = (acc ^ token_hashes[j:j + windows]) * _MULT
        acc ^= acc >> np.uint64(29)
        return (acc ^ (acc >> np.uint64(32))).astype(np.uint32)


@_jit
def _shingle_kernel(hashes, offsets, size, seq_offsets, first, last, sequence, distinct, n_distinct):
    for t in range(first, last):
        lo, n, w = offsets[t], offsets[t + 1] - offsets[t], seq_offsets[t]
        if n == 0:
            n_distinct[t] = 0
            continue
        k = min(size, n)
        windows = n - k + 1
        for i in range(windows):
            acc = np.uint64(0)
            for j in range(k):
                acc = (acc ^ hashes[lo + i + j]) * _MULT
            acc ^= acc >> np.uint64(29)
            sequence[w + i] = np.uint32(acc ^ (acc >> np.uint64(32)))
        ordered = np.sort(sequence[w:w + windows])
        m = 0
        for i in range(windows):
            if i == 0 or ordered[i] != ordered[i - 1]:
                distinct[w + m] = ordered[i]
                m += 1
        n_distinct[t] = m


@_jit
def _pack_kernel(distinct, seq_offsets, value_offsets, first, last, values):
    """Each text's distinct shingles (the first of its ``distinct`` slots) one after the other in ``values``."""
    for t in range(first, last):
        w, lo = seq_offsets[t], value_offsets[t]
        for i in range(value_offsets[t + 1] - lo):
            values[lo + i] = distinct[w + i]


class FlatShingles(NamedTuple):
    """Shingles of a batch of texts as flat arrays (what :func:`shingle_flat` returns).

    Text ``i`` owns ``values[offsets[i]:offsets[i+1]]`` (sorted distinct
    shingle hashes, ready for :func:`dedup.minhash.sign_flat`) and
    ``sequence[sequence_offsets[i]:sequence_offsets[i+1]]`` (the same hashes in
    text order, with repeats); ``n_tokens[i]`` is its token count.
    """

    values: np.ndarray            # uint32
    offsets: np.ndarray           # int64, n + 1
    sequence: np.ndarray          # uint32
    sequence_offsets: np.ndarray  # int64, n + 1
    n_tokens: np.ndarray          # int64, n


def shingle_flat(texts: list[str], config: ShingleConfig = ShingleConfig(), *,
                 threads: int | None = None) -> FlatShingles:
    """Shingles of many texts as flat arrays and offsets (stateless, batched, native speed).

    The same values as :func:`shingle_texts`, without a Python object per
    text: the form a streaming pipeline reads, signs and bands in batches.
    """
    hashes, offsets = hash_tokens(texts, threads=threads)
    return shingle_token_hashes(hashes, offsets, config.size, threads=threads)


def shingle_token_hashes(hashes: np.ndarray, offsets: np.ndarray, size: int, *,
                         threads: int | None = None) -> FlatShingles:
    """:func:`shingle_flat` from the flat token hashes of :func:`hash_tokens`. Stateless."""
    n = len(offsets) - 1
    n_tokens = np.diff(offsets)
    windows = np.where(n_tokens >= size, n_tokens - size + 1, np.minimum(n_tokens, 1))
    seq_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(windows, out=seq_offsets[1:])
    sequence = np.empty(seq_offsets[-1], dtype=np.uint32)
    distinct = np.empty(seq_offsets[-1], dtype=np.uint32)
    n_distinct = np.zeros(n, dtype=np.int64)
    parallel_ranges(lambda lo, hi: _shingle_kernel(hashes, offsets, size, seq_offsets, lo, hi,
                                                   sequence, distinct, n_distinct), offsets, threads)
    value_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(n_distinct, out=value_offsets[1:])
    values = np.empty(value_offsets[-1], dtype=np.uint32)
    parallel_ranges(lambda lo, hi: _pack_kernel(distinct, seq_offsets, value_offsets, lo, hi, values),
                    value_offsets, threads)
    return FlatShingles(values, value_offsets, sequence, seq_offsets, n_tokens)


def shingle_texts(texts: list[str], config: ShingleConfig = ShingleConfig()
                  ) -> tuple[list[np.ndarray], list[int], list[np.ndarray]]:
    """Sorted distinct shingle hashes, token counts and ordered hashes for each text (stateless).

    A per-text view of :func:`shingle_flat`.
    """
    flat = shingle_flat(texts, config)
    shingles = np.split(flat.values, flat.offsets[1:-1])
    sequences = np.split(flat.sequence, flat.sequence_offsets[1:-1])
    return shingles, flat.n_tokens.tolist(), sequences


def shingle(articles: pl.DataFrame, *, config: ShingleConfig = ShingleConfig()) -> pl.DataFrame:
    """ARTICLES -> SHINGLES, one row per article (``doc`` = row number). Stateless.

    The title is not shingled: outlets re-headline freely, and the body is
    what identifies a story.
    """
    flat = shingle_flat(articles["text"].to_list(), config)
    n = len(flat.n_tokens)
    frame = pl.DataFrame({
        "doc": np.arange(n, dtype=np.uint32),
        "shingles": list_series(flat.values, flat.offsets),
        "sequence": list_series(flat.sequence, flat.sequence_offsets, "sequence"),
        "n_tokens": flat.n_tokens.astype(np.uint32),
        "n_boilerplate": np.zeros(n, dtype=np.uint32),
    })
    return conform(frame, SHINGLES, "shingle")
