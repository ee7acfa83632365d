"""The settings of each stage: one frozen dataclass per stage, each checking its own values.

:class:`ReadConfig`, :class:`ShingleConfig`, :class:`MinHashConfig`,
:class:`ClusterConfig`, :class:`AlignConfig` and :class:`OutputConfig` document
every setting (the README's settings table and ``tests/test_docs.py`` read
them) and refuse a bad value with a :class:`~dedup.errors.ConfigError` naming
it: one of the wrong type (that of the setting's default: ``threshold="0.6"``,
``size=4.5``, ``threshold=True``) however the settings are made, from TOML, the
command line or Python (:func:`check_fields`, first in each ``__post_init__``),
and one out of range. They are composed, fingerprinted and loaded from TOML by
:class:`dedup.config.Config`, whose module re-exports them: import them from
``dedup.config``.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from dataclasses import dataclass
from typing import Any, Literal

from dedup.errors import ConfigError
from dedup.file_codecs import not_a_file_encoding

CANONICAL_FIELDS = ("id", "outlet", "title", "text", "published", "url")


def check_fields(settings: Any) -> None:
    """Refuse a setting whose value has not its type (that of its default), and hold each as the setting
    does (:func:`as_setting`): the first step of every stage's ``__post_init__``, so that the settings are
    checked alike however they are made (TOML, the command line, ``ClusterConfig(threshold=...)``)."""
    for f in dataclasses.fields(settings):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        value = getattr(settings, f.name)
        check_type(f.name, value, default)
        held = as_setting(f.name, value, default)
        if held is not value:
            object.__setattr__(settings, f.name, held)


def as_setting(name: str, value: Any, default: Any) -> Any:
    """A checked value as the setting holds it: a list as a tuple (of tuples), and a whole number
    as a float for a float setting (``kept_threshold = 1`` is 1.0: the fingerprint, JSON, would tell 1
    from 1.0, so the same settings would name other outputs and a nightly state would align its stored
    versions again)."""
    if isinstance(value, list) or (isinstance(value, tuple) and any(isinstance(x, list) for x in value)):
        return tuple(tuple(x) if isinstance(x, list) else x for x in value)
    if isinstance(default, float) and isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            raise ConfigError(f"{name} is too large, got {value}") from None
    return value


def check_type(name: str, value: Any, default: Any) -> None:
    """A value must have its setting's type (that of its default): ``threshold = "high"`` or
    ``threshold = true`` is refused with the setting's name, not failed on later or read as 1.0."""
    if default is None:
        return
    if isinstance(default, bool):
        ok, kind = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, kind = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    elif isinstance(default, float):
        ok, kind = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
    elif isinstance(default, str):
        ok, kind = isinstance(value, str), "a string"
    elif isinstance(default, tuple):
        ok, kind = isinstance(value, (list, tuple)), "a list"
    else:
        return
    if not ok:
        raise ConfigError(f"{name} must be {kind}, got {value!r}")


@dataclass(frozen=True)
class ReadConfig:
    """How input files become articles.

    field_map:
        Extra ``canonical=source`` column mappings, tried before the built-in
        aliases (``--field text=body``).
    strict:
        Stop at the first rejected record instead of rejecting and going on.
    max_text_chars:
        Longer texts are rejected (``text_too_long``): no real article is a
        megabyte of prose, and such records blow up memory downstream.
    max_record_bytes:
        Largest raw record, in bytes after decompression: one JSON Lines line,
        one CSV field (and, in a UTF-8 CSV file, read as a stream, one line,
        in characters), one element, object or line of a UTF-8 JSON file (in
        characters), one HTML page (a file or a WARC payload), one text
        file. Larger ones are rejected (``record_too_large``) without being
        parsed, so one runaway record cannot exhaust memory.
    max_html_bytes:
        Largest HTML page extracted (an HTML file or a WARC payload), in
        bytes after decompression, not counting its ``<script>`` (but
        JSON-LD) and ``<style>`` elements and comments (a page over the limit
        in bytes is parsed to count them). Extraction time grows faster than the
        page (on one core of the benchmark VM up to about 3 s at 4 MiB, 7 s
        at 8 MiB); larger pages are rejected (``html_too_large``) without
        being extracted, so that a few huge pages cannot hold a night up. The
        same pages on every machine: a size, not a timeout.
    max_file_bytes:
        Largest file read whole into memory (text, HTML, a compressed Parquet
        file, and the few CSV and JSON files not streamed), and largest CSV and
        JSON file, in bytes after decompression; larger files are rejected
        (``file_too_large``). CSV and JSON files are streamed in any encoding
        (the limit kept for them all the same; read whole: a compressed one that
        breaks part-way in another encoding than UTF-8, one whose first 256 KiB
        are UTF-8 but whose rest needs the detector),
        JSON Lines and WARC are streamed and only bound per record, Parquet
        read a batch of rows at a time.
    max_decompression_ratio:
        A compressed file that inflates past this many times its size on disk
        (once past 1 MiB) is a decompression bomb: decompression stops and the
        rest of the file is rejected (``decompression_bomb``); so is a Parquet
        file whose decoded values pass this many times its size on disk and
        ``max_file_bytes``. Real news dumps compress 3 to 10 times.
    encoding:
        ``"auto"`` (default): byte-order mark, then the declared charset (HTTP
        header in WARC, ``<meta charset>`` in HTML), then UTF-8, then the
        charset-normalizer detector; every non-UTF-8 decision is counted in
        ``summary.json`` (``warnings_by_reason.decoded_as_cp1252``...). A codec
        name such as ``"cp1252"`` decodes every file with it instead; one that
        is not a file encoding is refused (:func:`dedup.file_codecs.not_a_file_encoding`).
    workers:
        Processes that extract HTML pages (HTML and WARC inputs), in batches
        of 512: 0 (default) one per available core, 1 in this process. The
        articles are the same whatever the number.
    """

    field_map: tuple[tuple[str, str], ...] = ()
    strict: bool = False
    max_text_chars: int = 1_000_000
    max_record_bytes: int = 16 * 2**20
    max_html_bytes: int = 4 * 2**20
    max_file_bytes: int = 2 * 2**30
    max_decompression_ratio: float = 100.0
    encoding: str = "auto"
    workers: int = 0

    def __post_init__(self):
        # named read.workers (align has workers too); a whole number is checked without comparing another type
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 0:
            raise ConfigError(f"read.workers must be a whole number >= 0 (0: one per core), got {self.workers!r}")
        check_fields(self)
        mapped = set()
        for pair in self.field_map:
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
                raise ConfigError(f"field_map entries must be [canonical, column] pairs of strings, got {pair!r}")
            canonical = pair[0]
            if canonical not in CANONICAL_FIELDS:
                raise ConfigError(f"field_map: unknown field {canonical!r}; "
                                  f"choose one of {', '.join(CANONICAL_FIELDS)}")
            if canonical in mapped:   # the reader would silently take the last mapping
                raise ConfigError(f"field_map maps {canonical!r} twice; map each field once")
            mapped.add(canonical)
        if self.max_text_chars < 1:
            raise ConfigError("max_text_chars must be at least 1")
        if self.max_record_bytes < 1024:
            raise ConfigError(f"max_record_bytes must be at least 1024, got {self.max_record_bytes}")
        if self.max_html_bytes < 1024:
            raise ConfigError(f"max_html_bytes must be at least 1024, got {self.max_html_bytes}")
        if self.max_file_bytes < self.max_record_bytes:
            raise ConfigError(f"max_file_bytes ({self.max_file_bytes}) must be at least "
                              f"max_record_bytes ({self.max_record_bytes})")
        if not self.max_decompression_ratio >= 2:
            raise ConfigError(f"max_decompression_ratio must be at least 2, got {self.max_decompression_ratio}")
        if self.encoding != "auto" and (why := not_a_file_encoding(self.encoding)):
            raise ConfigError(f"encoding {self.encoding!r} {why}; use \"auto\" or a name such as \"utf-8\" or "
                              "\"cp1252\"")


@dataclass(frozen=True)
class ShingleConfig:
    """How normalised text becomes a set of shingles.

    size:
        Tokens per shingle. Words in space-separated scripts; single
        characters in scripts written without spaces (Han, Kana, Thai...), so
        ``size`` characters there.
    min_shingles:
        Articles with fewer distinct shingles than this are too short to
        compare reliably; they become singletons with reason ``too_short``.
    """

    size: int = 4
    min_shingles: int = 8

    def __post_init__(self):
        check_fields(self)
        if not 1 <= self.size <= 16:
            raise ConfigError(f"shingle size must be between 1 and 16, got {self.size}")
        if self.min_shingles < 1:
            raise ConfigError("min_shingles must be at least 1")


@dataclass(frozen=True)
class MinHashConfig:
    """Signatures and LSH banding.

    num_perm:
        Signature length (number of hash permutations), as in datasketch.
    seed:
        Seed of the permutations; signatures equal ``datasketch.MinHash(
        num_perm, seed, scheme="affine32")`` for the same shingle hashes.
    lsh_threshold:
        The Jaccard similarity around which LSH banding is tuned. It is
        deliberately lower than :attr:`ClusterConfig.threshold` because a
        trimmed copy has a low Jaccard but a high containment; every candidate
        is verified exactly afterwards.
    bands, rows:
        Override the banding derived from ``lsh_threshold`` (both or neither;
        ``bands * rows <= num_perm``).
    max_bucket:
        A band bucket holding more articles than this is emitted as a chain
        (each article paired with the next) instead of all pairs, so one hot
        bucket cannot make candidate generation quadratic. Counted in the
        summary.
    """

    num_perm: int = 128
    seed: int = 1
    lsh_threshold: float = 0.1
    bands: int | None = None
    rows: int | None = None
    max_bucket: int = 500

    def __post_init__(self):
        check_fields(self)
        if not 16 <= self.num_perm <= 1024:
            raise ConfigError(f"num_perm must be between 16 and 1024, got {self.num_perm}")
        if not 0.0 < self.lsh_threshold < 1.0:
            raise ConfigError(f"lsh_threshold must be in (0, 1), got {self.lsh_threshold}")
        if (self.bands is None) != (self.rows is None):
            raise ConfigError("give both bands and rows, or neither (they are derived from lsh_threshold)")
        for name in ("bands", "rows"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name} must be a whole number >= 1, got {value!r}")
        if not 0 <= self.seed < 2 ** 32:
            raise ConfigError(f"seed must be between 0 and 2**32 - 1, got {self.seed}")
        if self.bands is not None and self.bands * self.rows > self.num_perm:
            raise ConfigError(f"bands * rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        if self.max_bucket < 2:
            raise ConfigError("max_bucket must be at least 2")


@dataclass(frozen=True)
class ClusterConfig:
    """Verification of candidate pairs and grouping into stories.

    threshold:
        Two articles are the same story when their containment (shared
        shingles divided by the smaller article's shingles) reaches this.
    min_overlap:
        ...and they share at least this many shingles, so that two very short
        texts cannot match on a sentence.
    boilerplate_min_docs:
        A shingle that occurs in at least this many distinct texts *of one
        outlet* (its exact copies of one article count once) is frequent for
        that outlet. 0 disables the boilerplate filter.
    boilerplate_min_run:
        Frequent shingles are that outlet's boilerplate (footers, "About us",
        disclaimers) only where at least this many of them follow each other
        in an article, i.e. a passage of ``min_run + size - 1`` words: a
        recurring block, not the house phrasing ("said in a statement") that
        any wire story repeats. Shingles shared across outlets are never
        dropped for being frequent.
    sentence_threshold:
        A candidate pair whose containment is below ``threshold`` but at least
        ``rescue_min_containment`` is the same story when this share of the
        shorter article's sentences match sentences of the other (TF-IDF
        cosine >= ``align.align_threshold``): rewritten copies and wire
        corrections. 0 disables this second opinion.
    rescue_min_containment:
        Lowest containment that gets the sentence-level second opinion.
    rescue_min_facts:
        ...which also requires this share of the figures and capitalised names
        of the article with fewer of them to appear in the other (templated
        items differ only there).
    resend_max_days:
        A headline marked as a re-send (``CORRECTED - ...``, ``(RPT) ...``,
        ``REFILE-``, ``UPDATE 2-``) is compared with the earlier articles of
        the same outlet published at most this many days before it
        (:mod:`dedup.resend`). 0 disables the rule.
    resend_min_title:
        ...whose headline holds at least this share of the marked headline's
        marker-free words (stop words aside).
    resend_min_containment:
        Such a pair is the same story at this containment (instead of
        ``threshold``; ``min_overlap`` still applies): the outlet itself says
        it re-sent the item, the body only has to show it is that item.
    wire_outlets:
        Outlets preferred as canonical version when publication times tie.
    """

    threshold: float = 0.5
    min_overlap: int = 8
    sentence_threshold: float = 0.6
    rescue_min_containment: float = 0.15
    rescue_min_facts: float = 0.8
    boilerplate_min_docs: int = 4
    boilerplate_min_run: int = 5
    resend_max_days: float = 4.0
    resend_min_title: float = 0.6
    resend_min_containment: float = 0.2
    wire_outlets: tuple[str, ...] = ()

    def __post_init__(self):
        check_fields(self)
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError(f"threshold must be in (0, 1], got {self.threshold}")
        if self.min_overlap < 1:
            raise ConfigError("min_overlap must be at least 1")
        if not 0.0 <= self.sentence_threshold <= 1.0:
            raise ConfigError(f"sentence_threshold must be in [0, 1], got {self.sentence_threshold}")
        # the second opinion and the re-send rule only ever lower the bar: at or above threshold they
        # change nothing (so --threshold 0.1 is a valid run with the defaults, not an error about them)
        if not 0.0 <= self.rescue_min_containment <= 1.0:
            raise ConfigError(f"rescue_min_containment must be in [0, 1], got {self.rescue_min_containment}")
        if not 0.0 <= self.rescue_min_facts <= 1.0:
            raise ConfigError(f"rescue_min_facts must be in [0, 1], got {self.rescue_min_facts}")
        if self.boilerplate_min_docs == 1 or self.boilerplate_min_docs < 0:
            raise ConfigError("boilerplate_min_docs must be 0 (off) or at least 2")
        if self.boilerplate_min_run < 1:
            raise ConfigError("boilerplate_min_run must be at least 1")
        if not 0 <= self.resend_max_days <= 366:
            raise ConfigError(f"resend_max_days must be between 0 (the re-send rule off) and 366, "
                              f"got {self.resend_max_days}")
        if not 0.0 < self.resend_min_title <= 1.0:
            raise ConfigError(f"resend_min_title must be in (0, 1], got {self.resend_min_title}")
        if not 0.0 <= self.resend_min_containment <= 1.0:
            raise ConfigError(f"resend_min_containment must be in [0, 1], got {self.resend_min_containment}")
        if not all(isinstance(o, str) for o in self.wire_outlets):
            raise ConfigError(f"wire_outlets must be a list of outlet names, got {list(self.wire_outlets)!r}")


Splitter = Literal["nupunkt", "pysbd", "blingfire", "syntok", "sentencex"]
_SPLITTERS = ("nupunkt", "pysbd", "blingfire", "syntok", "sentencex")
Features = Literal["word", "word12", "char35", "word12+char35"]


@dataclass(frozen=True)
class AlignConfig:
    """Parameters of the sentence alignment (every one changes the output).

    splitter:
        Sentence splitter library: ``"nupunkt"`` (default: best boundary F1 and
        fastest among maintained splitters on our news test set). The others
        are accepted if installed, for comparison.
    features:
        TF-IDF features: ``"char35"`` (default: character 3-5-grams inside
        words; best MSRP train accuracy), ``"word"``, ``"word12"`` (unigrams
        and bigrams) or ``"word12+char35"``.
    n_features:
        Hash buckets of the feature hashing (power of two).
    align_threshold:
        Minimum cosine for a version sentence to be the same sentence as a
        canonical one (``edited``); below it, ``added``/``dropped``. Also the
        cosine at which added sentences of different versions form one family.
    kept_threshold:
        Cosine at or above which an aligned sentence is ``kept`` although its
        text differs. 1.0 (default): only identical sentences are kept, so every
        change, however small, shows as ``edited`` with its word diff.
    join_threshold:
        A split (two version sentences for one canonical) or merge (one for two)
        is accepted only if the joined text reaches this cosine...
    join_gain:
        ...and joining raises the cosine by at least this much over the best
        single sentence.
    reorder_window:
        An out-of-order match is accepted at ``align_threshold`` when the
        canonical sentence is at most this many sentences away from where the
        neighbouring matches place it...
    moved_threshold:
        ...or anywhere in the article when its cosine reaches this value.
    furniture_min_stories:
        An outlet's *furniture* is a sentence it prints in at least this many
        different stories of the night ("All rights reserved.", "Have a news
        tip?", its newsletter line), counted over the articles the IDF is
        fitted on (every article aligned tonight); a line that is the
        furniture of two outlets or more is a stock line, furniture for every
        outlet. Furniture is no evidence of copying: it never makes its
        carrier a later carrier in ``links.parquet`` (rows and families are
        unchanged). 0 = no sentence is furniture.
    max_sentences:
        A story whose canonical or any version has more sentences than this is
        not aligned: it lands in the alignment failures (``too_many_sentences``)
        and the night goes on. Aligning a version costs memory and time in the
        product of its and the canonical's sentence counts (some 56 bytes per
        pair of sentences: 2,000 x 2,000 takes 0.22 GB), so one pathological
        text (a 20,000-sentence dump) would otherwise take the whole run down.
        A candidate pair with such an article gets no sentence second opinion
        either (shingles alone decide it), for the same cost.
        The longest of 54,000 real articles measured has 226 sentences. Never
        changes the rows of a story that is aligned, so it is not part of the
        fingerprint.
    workers:
        Processes that split and align clusters in parallel: 0 (default) one
        per available core, 1 in this process only. Nights of fewer than 2,000
        clustered articles always run in-process (starting workers would cost
        more). Changes speed only, never the output.
    """

    splitter: Splitter = "nupunkt"
    features: Features = "char35"
    n_features: int = 2**20
    align_threshold: float = 0.52
    kept_threshold: float = 1.0
    join_threshold: float = 0.7
    join_gain: float = 0.05
    reorder_window: int = 3
    moved_threshold: float = 0.8
    furniture_min_stories: int = 3
    max_sentences: int = 2000
    workers: int = 0

    def __post_init__(self):
        check_fields(self)
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 0:
            raise ConfigError(f"workers must be a whole number >= 0 (0: one per core), got {self.workers!r}")
        if self.splitter not in _SPLITTERS:
            raise ConfigError(f"unknown splitter {self.splitter!r}; choose one of {', '.join(_SPLITTERS)}")
        if importlib.util.find_spec(self.splitter) is None:   # refused here, not in the alignment's workers
            raise ConfigError(f"splitter {self.splitter!r} is not installed (pip install {self.splitter})")
        if self.features not in ("word", "word12", "char35", "word12+char35"):
            raise ConfigError(f"unknown features {self.features!r}; choose word, word12, char35 or word12+char35")
        if not 1024 <= self.n_features <= 2 ** 24 or self.n_features & (self.n_features - 1):
            raise ConfigError(f"n_features must be a power of two between 1024 and 2**24, got {self.n_features}")
        if not 0.0 < self.align_threshold <= 1.0:
            raise ConfigError(f"align_threshold must be in (0, 1], got {self.align_threshold}")
        if not self.align_threshold <= self.kept_threshold <= 1.0:
            raise ConfigError(f"kept_threshold must be between align_threshold ({self.align_threshold}) and 1, "
                              f"got {self.kept_threshold}")
        if not self.align_threshold <= self.moved_threshold <= 1.0:
            raise ConfigError(f"moved_threshold must be between align_threshold ({self.align_threshold}) and 1, "
                              f"got {self.moved_threshold}")
        if not 0.0 <= self.join_gain <= 1.0:
            raise ConfigError(f"join_gain must be in [0, 1], got {self.join_gain}")
        if not self.align_threshold <= self.join_threshold <= 1.0:
            raise ConfigError(f"join_threshold must be between align_threshold ({self.align_threshold}) and 1, "
                              f"got {self.join_threshold}")
        if self.reorder_window < 0:
            raise ConfigError(f"reorder_window must be >= 0, got {self.reorder_window}")
        if isinstance(self.furniture_min_stories, bool) or not isinstance(self.furniture_min_stories, int) \
                or self.furniture_min_stories < 0:
            raise ConfigError(f"furniture_min_stories must be a whole number >= 0 (0 = off), "
                              f"got {self.furniture_min_stories!r}")
        if isinstance(self.max_sentences, bool) or not isinstance(self.max_sentences, int) or self.max_sentences < 1:
            raise ConfigError(f"max_sentences must be a whole number >= 1, got {self.max_sentences!r}")


@dataclass(frozen=True)
class OutputConfig:
    """Which files are written besides the Parquet tables, and how much the report holds.

    ``report_articles``: report.html holds the details of the stories with the
    most outlets that fit in this many articles in all (one too big for what
    is left is passed over); the other stories are listed with their outlets
    only. 0 = every story.
    """

    formats: tuple[Literal["parquet", "csv", "json"], ...] = ("parquet",)
    report_articles: int = 20_000

    def __post_init__(self):
        check_fields(self)
        bad = set(self.formats) - {"parquet", "csv", "json"}
        if bad:
            raise ConfigError(f"unknown output format(s) {sorted(bad)}; choose parquet, csv or json")
        # Parquet is always written: ["csv"] in a config file and --format csv are the same run, recorded
        # alike in summary.json (and so in report.html), in one order whatever order they were given in
        object.__setattr__(self, "formats", tuple(f for f in ("parquet", "csv", "json")
                                                  if f == "parquet" or f in self.formats))
        if isinstance(self.report_articles, bool) or not isinstance(self.report_articles, int) \
                or self.report_articles < 0:
            raise ConfigError(f"output.report_articles must be a whole number >= 0 (0 = every story), "
                              f"not {self.report_articles!r}")
