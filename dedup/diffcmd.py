"""``dedup diff A B``: the sentence diff of two articles, for the terminal.

A and B are either files holding one article each (any input format) or
article ids looked up in ``--corpus``. Their texts are diffed; their titles (a
``.txt`` or ``.md`` file's first line) only head the output, and its last line
says when they differ. With a corpus, the IDF is fitted on all of its articles
(a run fits it on the members of its clusters of two or more only, so a
borderline sentence may be labelled otherwise than in its report); otherwise
on the two texts. The configuration (``dedup diff --config``, the file ``dedup
cluster`` takes) applies its ``[read]`` settings to reading A, B and the
corpus and its ``[align]`` settings to the diff; its other tables do not bear
on one pair's diff. An article longer than the aligner takes
(``align.max_sentences``) is unusable input (:class:`~dedup.errors.InputError`,
exit code 3), as a missing one is.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from dedup.align import AlignmentError, fit_idf, render_diff, split_sentences
from dedup.config import Config, ReadConfig
from dedup.errors import InputError
from dedup.io import read_inputs


def _one_article(path: Path, config: ReadConfig) -> dict:
    read = read_inputs([path], config=config)
    if read.articles.height != 1:
        reasons = ", ".join(sorted(set(read.rejects["reason"].to_list()))) or "none"
        raise InputError(f"{path} holds {read.articles.height} usable articles (rejected: {reasons}); "
                         "pass a file with exactly one, or ids with --corpus")
    return read.articles.row(0, named=True)


def _not_found(missing: list[str], rejects: pl.DataFrame, corpus: list[str | Path]) -> str:
    """Which ids the corpus lacks, and for one whose record was rejected, why (its file, record and reason)."""
    why = {r["article_id"]: r for r in rejects.filter(pl.col("article_id").is_in(missing)).to_dicts()}
    parts = [f"{x} (rejected: {why[x]['reason']}, {why[x]['file']} record {why[x]['record']})" if x in why else x
             for x in missing]
    return f"article id(s) {', '.join(parts)} not found in {', '.join(map(str, corpus))}"


def _titles_differ(art_a: dict, art_b: dict) -> bool:
    """Whether the titles differ: they are shown in the header, not diffed, and a .txt or .md file's first
    line is its title, so an edited lead line of two pasted texts would otherwise pass unnoticed."""
    return (art_a.get("title") or "") != (art_b.get("title") or "")


def _label(article: dict) -> str:
    return " · ".join(x for x in (article.get("outlet"), article.get("title"), article["article_id"]) if x)


def diff_articles(a: str, b: str, *, corpus: list[str | Path], color: bool, config: Config | None = None) -> str:
    """The printable diff of B against A: files, or ids in ``corpus``, read with ``config.read`` and aligned
    with ``config.align``, as a run with this configuration reads and aligns them (default: :class:`Config`'s)."""
    config = config or Config()
    if corpus:
        read = read_inputs(corpus, config=config.read)
        articles = read.articles
        found = {r["article_id"]: r for r in articles.filter(pl.col("article_id").is_in([a, b])).to_dicts()}
        missing = [x for x in (a, b) if x not in found]
        if missing:
            raise InputError(_not_found(missing, read.rejects, corpus))
        art_a, art_b = found[a], found[b]
        everyone = articles.select("article_id", "outlet", "published").with_columns(
            cluster_id=pl.lit("corpus"), cluster_size=pl.lit(2, dtype=pl.UInt32), is_canonical=pl.lit(False))
        idf = fit_idf(articles, everyone, config=config.align)
    else:
        for path in (a, b):
            if not Path(path).is_file():
                raise InputError(f"{path} is not a file; to compare article ids, pass --corpus FILES_OR_FOLDERS")
        art_a, art_b = _one_article(Path(a), config.read), _one_article(Path(b), config.read)
        idf = None
    try:
        return render_diff(art_a["text"], art_b["text"], title_a=_label(art_a), title_b=_label(art_b), color=color,
                           config=config.align, idf=idf, titles_differ=_titles_differ(art_a, art_b))
    except AlignmentError as error:
        if error.reason != "too_many_sentences":
            raise
        # the aligner's message names the pair as a cluster "diff"; the bound is [align] max_sentences of --config
        align = config.align
        counts = [(name, len(split_sentences(art["text"] or "", splitter=align.splitter)))
                  for name, art in (("A", art_a), ("B", art_b))]
        name, n = next(((name, n) for name, n in counts if n > align.max_sentences), max(counts, key=lambda c: c[1]))
        raise InputError(f"{name} has {n:,} sentences; dedup diff compares articles of at most "
                         f"{align.max_sentences:,}") from None
