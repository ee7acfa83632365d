"""Input and output: files to the ARTICLES frame, and the run's output tables.

:func:`read_inputs` is the read stage: every input record ends up either as
an article or as a reject with a reason, so ``records = articles + rejects``
always holds and is checked by the pipeline.

Modules, in the order bytes flow through them:

* :mod:`~dedup.io.streams`: files as bounded byte streams (compression by
  content, size limits, decompression-bomb guard);
* :mod:`~dedup.io.decode`: bytes to text (BOM, declared charset, detector);
* :mod:`~dedup.io.archives`: ``.zip`` and ``.tar(.gz...)`` archives as folders
  of members, each copied to a temporary file and read as a file;
* :mod:`~dedup.io.readers`: one reader per format, yielding raw records;
  :mod:`~dedup.io.html` (trafilatura) and :mod:`~dedup.io.warc` (warcio) for
  crawled pages;
* :mod:`~dedup.io.records`: raw records to ARTICLES rows or rejects;
* :mod:`~dedup.io.writers`: the output tables.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import polars as pl

from dedup.config import ReadConfig
from dedup.errors import DedupError, RejectedRecord
from dedup.io.archives import read_archive
from dedup.io.html import Page, extract_pages, latest_page_date
from dedup.io.inputs import (
    SUPPORTED,
    archive_of,
    find_inputs,
    no_readable_files,
    supported,
)
from dedup.io.paths import (
    file_path,
    given_inputs,
    is_blank,
    is_uri,
    local_folder,
    local_path,
    table_files,
)
from dedup.io.readers import FileRejected, read_file
from dedup.io.records import RecordMapper, Reject
from dedup.io.streams import Limits, Source, display_path, file_failure
from dedup.progress import Progress, bar
from dedup.schema import ARTICLES, REJECTS, conform

__all__ = ["REJECTS_KEPT", "SUPPORTED", "ReadResult", "articles_from_frame", "file_path", "given_inputs", "is_blank",
           "is_uri", "local_folder", "local_path", "read_inputs", "read_source", "reject_read_articles", "table_files"]


@dataclass
class ReadResult:
    articles: pl.DataFrame                 # ARTICLES, sorted by article_id
    rejects: pl.DataFrame                  # REJECTS, sorted by file, record, reason
    files: int = 0
    records: int = 0
    skipped_files: list[str] = field(default_factory=list)    # unsupported types, output folders found in folders,
    #                                                           archive members passed over
    warnings: Counter = field(default_factory=Counter)


#: Mapped articles become a polars frame every this many rows, so that the read stage holds each
#: text once, in Arrow, instead of every record as a Python dict until the end (at 100k articles
#: that was 805 MB peak RSS for a 201 MB frame). Smaller batches save little more.
_BATCH = 2_000
#: HTML pages wait for extraction until there are this many (or this many bytes), then are extracted
#: together on the workers (:func:`dedup.io.html.extract_pages`): at ~30 pages a core-second, a batch
#: keeps two cores busy for some 8 s, against ~0.1 s to start its workers.
_PAGE_BATCH = 512
_PAGE_BATCH_BYTES = 128 * 2**20
#: The REJECTS columns as the read keeps them: repeated strings (a file's name, a reason, "expected a JSON
#: object, got int" a million times over) stored once, each row ~25 bytes, so that a file of bad lines (a log
#: or a CSV named .jsonl: a reject a line) costs little more than the file (as Python dicts, ~650 bytes a
#: reject). They read as strings (``to_list``, ``rows``, comparisons with a ``str``); writers cast them.
REJECTS_KEPT = pl.Schema({name: pl.Categorical() if dtype == pl.String else dtype for name, dtype in REJECTS.items()})
#: A file whose last this many records were all rejected is not read further (one ``too_many_rejects`` reject
#: for the rest): a reject is kept until the outputs are written (~140 bytes each at the peak), and a 4 MiB
#: gzip of bad lines may hold 200 million of them.
MAX_REJECT_RUN = 1_000_000
#: Records under one id with the same time and text are ranked by these fields (:func:`content_rank`).
CONTENT_TIES = ("outlet", "title", "url")


def content_rank(record) -> tuple:
    """The tie-break of two records with one id, time and text: ``outlet``, ``title``, ``url`` compared as
    strings (by code point, as Spark compares UTF-8 bytes), a missing value after any value."""
    return tuple((record[name] is None, record[name] or "") for name in CONTENT_TIES)


class _Collector:
    """Articles (in frames of :data:`_BATCH` rows), rejects (alike, :data:`REJECTS_KEPT`), counts and warnings
    of the files read so far."""

    def __init__(self, config: ReadConfig, latest: str | None = None):
        self.config = config
        self.mapper = RecordMapper(config)
        self.rows: list[dict[str, Any]] = []          # articles not yet in a frame
        self.frames: list[pl.DataFrame] = []          # ARTICLES batches, in read order
        self.reject_rows: list[dict[str, Any]] = []   # rejects not yet in a frame
        self.reject_frames: list[pl.DataFrame] = []   # REJECTS_KEPT batches, in the order met
        self.last_reject: tuple | None = None          # the sort key of the last reject met, while they come in order
        self.rejects_in_order = True                   # (often: one file's bad lines), no sort needed at the end
        self.rejected = 0
        self.records = 0
        self.warnings: Counter = Counter()
        self.skipped: list[str] = []                   # archive members passed over, as skipped_files entries
        self.pages: list[tuple[str, int | None, Page]] = []   # (file, record, page) not yet extracted
        self.latest_page_date = latest or latest_page_date()   # one limit for every page of the read
        self.page_bytes = 0
        self.pages_extracted: Callable[[int], None] | None = None   # told of each chunk of pages extracted

    def reject(self, rej: Reject) -> None:
        if self.config.strict:
            raise RejectedRecord(rej.file, rej.record, rej.reason, rej.message)
        # by file, record (missing first) and reason, as rejects_frame sorts them; a tie is "not in order" too
        key = (rej.file, rej.record is not None, rej.record or 0, rej.reason)
        if self.rejects_in_order and self.last_reject is not None and key <= self.last_reject:
            self.rejects_in_order = False
        self.last_reject = key
        self.rejected += 1
        self.reject_rows.append(rej.as_row())
        if len(self.reject_rows) >= _BATCH:
            self._flush_rejects()

    def _flush_rejects(self) -> None:
        rows, self.reject_rows = self.reject_rows, []
        if rows:
            self.reject_frames.append(pl.DataFrame(rows, schema=REJECTS_KEPT, orient="row"))

    def rejects_frame(self) -> pl.DataFrame:
        """The rejects so far as REJECTS (their declared schema: strings, not the categoricals they are kept
        as until now), by file, record and reason."""
        self._flush_rejects()
        rejects = pl.concat(self.reject_frames or [pl.DataFrame(schema=REJECTS_KEPT)], rechunk=False)
        # a sort of millions of rejects would cost twice what they take
        rejects = rejects if self.rejects_in_order else rejects.sort(["file", "record", "reason"], nulls_last=False)
        return conform(rejects, REJECTS, "read")

    def add(self, items: Iterable[tuple[int | None, Any]], file: str) -> None:
        """Count, map and keep (or reject) each record of ``items``. A record the mapper fails on
        (a bug) is one ``reader_error`` reject of that record, and the file goes on. HTML pages
        are extracted in batches across files (:meth:`_extract`) before they are mapped."""
        run = 0   # the records rejected in a row, last
        for number, raw in items:
            if run >= MAX_REJECT_RUN:   # a log or a CSV named .jsonl, say: its lines would fill the memory
                raise FileRejected("too_many_rejects", f"the {run:,} records before record {number} were all "
                                   "rejected; the rest of the file is not read: it does not hold articles in a "
                                   "format dedup reads (check the file, or map its columns with --field)")
            self.records += 1
            if isinstance(raw, Page):
                self.pages.append((file, number, raw))
                self.page_bytes += len(raw.data)
                # --strict: each page at once, so that the first reject is the first one met
                if self.config.strict or len(self.pages) >= _PAGE_BATCH or self.page_bytes >= _PAGE_BATCH_BYTES:
                    self._extract()
                continue
            rejected = self.rejected
            self._take(file, number, raw)
            run = run + 1 if self.rejected > rejected else 0

    def _extract(self) -> None:
        """Extract the pages waiting (on ``config.workers`` processes), then map each in turn."""
        pages, self.pages, self.page_bytes = self.pages, [], 0
        if not pages:
            return
        results = extract_pages([page for _, _, page in pages], self.config.workers, self.latest_page_date,
                                done=self.pages_extracted)
        for (file, number, _), (raw, warnings) in zip(pages, results):
            self.warnings.update(warnings)
            self._take(file, number, raw)

    def _take(self, file: str, number: int | None, raw: Any) -> None:
        """Map one raw record (or keep its reject)."""
        if isinstance(raw, Reject):
            self.reject(Reject(file, number, raw.reason, raw.message))
            return
        try:
            row = self.mapper.map(raw, file, number)
        except (DedupError, MemoryError):
            raise
        except Exception as exc:  # noqa: BLE001 - a mapper bug: this record is rejected, the file goes on
            row = Reject(file, number, "reader_error", f"the record could not be mapped ({_failure(exc)}); "
                         "please report this bug")
        if isinstance(row, Reject):
            self.reject(row)
            return
        for warning in row.pop("_warnings"):
            self.warnings[warning.split(":", 1)[0]] += 1
        self.rows.append(row)
        if len(self.rows) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        """Turn the pending rows into a frame. Should a batch fail to convert (a value Arrow cannot
        hold that the mapper let through: a bug), its rows are converted one by one and each row
        that fails is a ``reader_error`` reject, so one bad record neither takes its batch with it
        nor stays pending to fail every later file."""
        rows, self.rows = self.rows, []
        if not rows:
            return
        frame = self._frame_of(rows)
        if frame is None:
            kept = [one for row in rows if (one := self._frame_of([row], reject=True)) is not None]
            frame = pl.concat(kept) if kept else None
        if frame is not None:
            self.frames.append(frame)

    def _frame_of(self, rows: list[dict[str, Any]], *, reject: bool = False) -> pl.DataFrame | None:
        """``rows`` as an ARTICLES frame; None if they cannot be, after rejecting the row if ``reject``."""
        try:
            return pl.DataFrame(rows, schema=ARTICLES, orient="row")
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - one bad record must not stop the night
            if reject:
                row = rows[0]
                self.reject(Reject(row["source_file"], row["source_record"], "reader_error",
                                   f"the record could not be stored ({_failure(exc)}); please report this bug"))
            return None

    def frame(self) -> pl.DataFrame:
        """Every article read so far (pages waiting extracted first), duplicate ids included."""
        self._extract()
        self._flush()
        frame = pl.concat(self.frames, rechunk=False) if self.frames else pl.DataFrame(schema=ARTICLES)
        return conform(frame, ARTICLES, "read")

    def finish(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The articles (one record an id, by ``article_id``) and the rejects: each other record of an id
        used more than once is a ``duplicate_id`` reject naming the record kept (:func:`rank_duplicates`),
        met in rank order (the first one is the one ``--strict`` stops at)."""
        frame = self.frame()
        ranked = rank_duplicates(frame)
        first = pl.col("article_id").is_first_distinct()
        ranked = ranked.with_columns(pl.col("source_file", "source_record").first().over("article_id")
                                     .name.prefix("first_")).filter(~first)
        for article_id, file, record, first_file, first_record in ranked.drop("row").iter_rows():
            where = f"{first_file}:{first_record}" if first_record is not None else first_file
            self.reject(Reject(file, record, "duplicate_id", f"id {article_id!r} already used by {where}", article_id))
        # one copy of the articles kept, in id order (a filter, then a sort, made two)
        index = pl.int_range(pl.len(), dtype=pl.UInt32)
        order = (frame.select("article_id", index.alias("row")).filter(~pl.col("row").is_in(ranked["row"].implode()))
                 .sort("article_id")["row"])
        return frame.select(pl.all().gather(order)), self.rejects_frame()


def rank_duplicates(frame: pl.DataFrame) -> pl.DataFrame:
    """The records of ``frame`` (ARTICLES) whose id is used more than once, as ``row`` (their index in
    ``frame``), ``article_id``, ``source_file`` and ``source_record``, best first: the first record of an id
    keeps it. Best is the earliest published (undated last), then the longest text (in characters), then the
    text itself (its SHA-256, in hex), then the record's other fields (:func:`content_rank`), so that which
    record is kept does not depend on how files happen to be named or ordered; only records equal in every
    field fall back to file and record order (record missing as 0), then to the order read, which then
    decides nothing but ``source_file`` and ``source_record``. The Spark engine ranks them alike
    (:func:`dedup.spark.read.number_articles`).

    Ranked in polars, texts out of it only where time and length tie, a batch at a time: a night whose
    every id came twice held every text once more as Python strings."""
    far = pl.lit(datetime.max.replace(tzinfo=timezone.utc), dtype=ARTICLES["published"])
    keys = (frame.select("article_id", pl.col("published").fill_null(far).alias("time"),
                         -pl.col("text").str.len_chars().cast(pl.Int64).fill_null(0).alias("length"), *CONTENT_TIES,
                         "source_file", "source_record")
            .with_row_index("row").filter(pl.col("article_id").is_duplicated()))
    tied = keys.filter(pl.len().over("time", "length") > 1)["row"]
    digests = [pl.Series("digest", [hashlib.sha256((text or "").encode()).hexdigest()
                                    for text in frame["text"].gather(tied.slice(start, _BATCH))], dtype=pl.String)
               for start in range(0, tied.len(), _BATCH)]
    keys = keys.join(pl.DataFrame([tied, pl.concat(digests) if digests else pl.Series("digest", [], pl.String)]),
                     on="row", how="left")
    order = ["time", "length", "digest", *CONTENT_TIES, "source_file", pl.col("source_record").fill_null(0), "row"]
    return (keys.sort(order, nulls_last=True)
            .select("row", "article_id", "source_file", "source_record"))


def reject_read_articles(read: ReadResult, rejects: pl.DataFrame, config: ReadConfig) -> pl.Series:
    """Reject articles of ``read`` found unusable after reading (a nightly state's id held by another outlet:
    :meth:`dedup.state.NightlyState.held_elsewhere`) as a reader rejects a record: ``rejects`` (REJECTS rows,
    each naming its article by ``article_id``) join ``read.rejects``, and their articles leave
    ``read.articles``, so that records read = articles + rejects still holds; under ``strict`` the first of
    them (by file and record) stops the run (:class:`~dedup.errors.RejectedRecord`). Returns which of the
    articles ``read`` had are kept (a mask in their order: the caller drops the same rows of its frames)."""
    collector = _Collector(config)
    for row in rejects.sort(["file", "record", "reason"], nulls_last=False).iter_rows(named=True):
        collector.reject(Reject(row["file"], row["record"], row["reason"], row["message"], row["article_id"]))
    keep = ~read.articles["article_id"].is_in(rejects["article_id"].implode())
    read.articles = read.articles.filter(keep)
    read.rejects = pl.concat([read.rejects, collector.rejects_frame()]).sort(
        ["file", "record", "reason"], nulls_last=False)
    return keep


def _failure(exc: Exception) -> str:
    """An unexpected exception in a reject message: its type and the start of its text."""
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def read_source(source: Source, collector: _Collector) -> None:
    """Read one file into ``collector``: its records, or a reject for whatever made the file unusable.

    A file that turns out unusable part-way (a decompression bomb, a truncated
    archive) keeps the records read before that point, and the rest of it is
    one reject with ``record`` null; a reader bug is a ``reader_error``
    reject, not a crash. The warnings of ``source`` are added to the
    collector's. An archive (``.zip``, ``.tar.gz``...) is read as a folder of
    its members, each by this function (:mod:`dedup.io.archives`). This is the
    body of :func:`read_inputs`' loop and of the Spark engine's per-file task
    (:mod:`dedup.spark.read`).
    """
    if archive_of(source.path):
        _read_archive(source, collector)
        return
    try:
        collector.add(read_file(source), source.name)
    except (FileRejected, OSError) as exc:
        collector.records += 1
        collector.reject(Reject(source.name, None, *file_failure(exc)))
    except (DedupError, MemoryError):
        raise
    except Exception as exc:  # a reader bug must not stop the night; it is counted and reported
        collector.records += 1
        collector.reject(Reject(source.name, None, "reader_error",
                                f"the reader failed ({_failure(exc)}); "
                                "the rest of the file is skipped; please report this bug"))
    finally:
        collector.warnings.update(source.warnings)


def _read_archive(source: Source, collector: _Collector) -> None:
    """An archive's members into ``collector``. Under ``strict`` the run stops at the first reject by member
    name and record (a tar is read in its own order), as on the Spark engine: the archive is read whole first."""
    config = collector.config
    if not config.strict:
        read_archive(source, collector, read_source)
        return
    collector.config = replace(config, strict=False)
    try:
        read_archive(source, collector, read_source)
        collector._extract()
    finally:
        collector.config = config
    if collector.rejected:   # under strict, any reject before this archive's stopped the run
        first = min(collector.rejects_frame().iter_rows(named=True),
                    key=lambda r: (r["file"], r["record"] is None, r["record"] or 0))
        raise RejectedRecord(first["file"], first["record"], first["reason"], first["message"])


def read_inputs(inputs: list[str | Path], *, config: ReadConfig = ReadConfig(),
                out: str | Path | None = None, progress: Progress | None = None) -> ReadResult:
    """Read files and folders into ARTICLES and REJECTS frames.

    File paths in the output are as given on the command line (joined with the
    path found below a folder), so reruns from the same place are identical.
    Each file is read by :func:`read_source`: a file that turns out unusable
    part-way keeps the records read before that point. Decisions that keep a
    record (an encoding guessed, a WARC request record skipped) are counted
    in ``warnings``. A ``file://`` URI is read as the local path it names;
    any other URI (``hdfs://``, ``s3a://``...) is an :class:`InputError`:
    it needs the Spark engine (:func:`dedup.spark.run_spark`).

    Folders are walked by :func:`~dedup.io.inputs.find_inputs`: ``out``
    (the run's output folder) and other dedup output folders below an input
    folder are not read but listed in ``skipped_files``, as are unsupported
    files; a folder that cannot be listed, or a broken link or named pipe with
    a supported extension, is an ``unreadable_file`` reject (one record).
    An empty or blank input is refused (:func:`given_inputs`), not read as
    the working folder. ``progress`` draws a bar of the files read and, once
    there are HTML or WARC pages, one of the pages extracted, chunk by chunk.
    """
    given_inputs(inputs)
    inputs = [local_path(item) for item in inputs]
    found = find_inputs(inputs, out=out)
    explicit = {Path(p) for p in inputs if Path(p).is_file()}
    collector = _Collector(config)
    limits = Limits.from_config(config)
    encoding = getattr(config, "encoding", "auto")
    skipped = [*found.skipped, *((path, display_path(path)) for path in found.files
                                 if path not in explicit and not supported(path))]
    readable = [path for path in found.files if path in explicit or supported(path)]
    files = len(readable)
    for path, message in found.unreadable:
        collector.records += 1
        collector.reject(Reject(display_path(path), None, "unreadable_file", message))
    if files == 0:
        raise no_readable_files(list(map(display_path, inputs)), list(map(display_path, found.outputs)),
                                [(display_path(path), message) for path, message in found.unreadable])
    with bar(progress, "read", total=files, unit="file") as file_read, \
            bar(progress, "extract", total=None, unit="page", lazy=True) as page_extracted:
        collector.pages_extracted = page_extracted
        for path in readable:
            read_source(Source(path, limits, encoding=None if encoding == "auto" else encoding), collector)
            file_read(1)
        articles, rejects = collector.finish()   # the pages still waiting are extracted here
    return ReadResult(articles, rejects, files=files, records=collector.records,
                      skipped_files=[entry for _, entry in sorted(skipped, key=lambda s: s[0])] + sorted(
                          collector.skipped),
                      warnings=collector.warnings)


def articles_from_frame(frame: pl.DataFrame, *, config: ReadConfig = ReadConfig(),
                        source: str = "<frame>") -> ReadResult:
    """Map an in-memory frame with any of the accepted column names to ARTICLES."""
    collector = _Collector(config)
    collector.add(enumerate(frame.iter_rows(named=True), start=1), source)
    articles, rejects = collector.finish()
    return ReadResult(articles, rejects, files=1, records=collector.records, warnings=collector.warnings)
