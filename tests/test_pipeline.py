"""The pipeline's batched shingle -> boilerplate -> minhash path equals the one-batch path."""

from __future__ import annotations

from contextlib import contextmanager

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dedup import pipeline, run, signing
from dedup.boilerplate import remove_boilerplate
from dedup.config import Config
from dedup.minhash import signatures
from dedup.pipeline import Timer, cluster_frame
from dedup.progress import Progress
from dedup.shingle import shingle
from dedup.signing import sign_articles
from tests.conftest import SAMPLE, article, make_story

FOOTER = ["Subscribe to the Harbour Gazette for more local news every morning.",
          "Copyright Harbour Gazette media group all rights reserved worldwide."]


@pytest.fixture
def corpus() -> pl.DataFrame:
    """Stories with copies, and two outlets whose every article ends with the outlet's footer."""
    rows = []
    for s in range(6):
        base = make_story(300 + s, 12)
        rows.append(article(f"w{s}", "Wire", base, f"2026-11-27T0{s}:00:00Z"))
        for o, outlet in enumerate(["Harbour Gazette", "Valley Post", "Coast Courier"]):
            text = base[: 8 + o] + (FOOTER if outlet == "Harbour Gazette" else [f"{outlet} newsroom report."])
            rows.append(article(f"w{s}-{o}", outlet, text, f"2026-11-27T1{o}:00:00Z"))
    for u in range(5):
        rows.append(article(f"u{u}", "Harbour Gazette", make_story(700 + u, 9) + FOOTER, "2026-11-27T05:00:00Z"))
    rows.append(article("nobody", None, make_story(800, 9)))
    return pl.DataFrame(rows)


@pytest.mark.parametrize("min_docs", [4, 0])
@pytest.mark.parametrize("batch", [1, 2, 4, 7, 1000])
def test_signing_by_batches_in_outlet_order_equals_the_whole(corpus, monkeypatch, batch, min_docs):
    # Harbour Gazette's 11 articles span several batches of 1-7: its articles wait for its counts (and drop
    # their shingles when more than a batch wait); the article without an outlet comes last.
    articles = cluster_frame(corpus).articles
    config = Config().replace(cluster={"boilerplate_min_docs": min_docs})
    sh = remove_boilerplate(shingle(articles), articles["outlet"], min_docs=min_docs,
                            min_run=config.cluster.boilerplate_min_run)
    assert (sh["n_boilerplate"].sum() > 0) == (min_docs > 0)   # the footer is frequent for its outlet
    monkeypatch.setattr(signing, "BATCH_ARTICLES", batch)
    got_sh, got_sig = sign_articles(articles, config, Timer())
    assert_frame_equal(got_sh, sh)
    assert_frame_equal(got_sig, signatures(sh, config=config.minhash))


@pytest.mark.parametrize("batch", [3, 10])
def test_batched_run_equals_one_batch(corpus, monkeypatch, batch):
    one = cluster_frame(corpus)
    assert one.summary["pipeline"]["boilerplate_shingles_removed"] > 0
    monkeypatch.setattr(signing, "BATCH_ARTICLES", batch)
    many = cluster_frame(corpus)
    for name in ("clusters", "pairs", "sentences", "links"):
        assert_frame_equal(getattr(many, name), getattr(one, name))
    assert many.summary == one.summary
    assert set(many.timings) >= {"shingle", "boilerplate", "minhash", "verify", "align"}


@pytest.mark.parametrize("batch", [2, 5])
def test_a_wires_update_chain_counts_once_whatever_the_batches(monkeypatch, batch):
    # the wire's five versions of one item fall in several batches of its outlet: each counts as the one item
    from tests.spark.corpora import update_chain_corpus
    corpus = pl.DataFrame(update_chain_corpus())
    one = cluster_frame(corpus)
    assert one.clusters.filter(pl.col("article_id").str.starts_with("wire-") & ~pl.col("article_id").str.contains(
        "other"))["cluster_size"].to_list() == [8] * 5
    monkeypatch.setattr(signing, "BATCH_ARTICLES", batch)
    many = cluster_frame(corpus)
    for name in ("clusters", "pairs", "sentences", "links"):
        assert_frame_equal(getattr(many, name), getattr(one, name))


def test_progress_bars_draw_only_when_enabled(capsys):
    with Progress(enabled=False).bar("x", total=3) as advance:
        advance(3)
    assert capsys.readouterr().err == ""
    with Progress(enabled=True).bar("minhash", total=3) as advance:
        advance(3)
    assert "minhash" in capsys.readouterr().err


def test_a_lazy_bar_is_drawn_from_its_first_step_only(capsys):
    with Progress(enabled=True).bar("extract", total=None, unit="page", lazy=True):
        pass
    assert capsys.readouterr().err == ""
    with Progress(enabled=True).bar("extract", total=None, unit="page", lazy=True) as advance:
        advance(3)
    assert "extract" in capsys.readouterr().err


class _Recorder(Progress):
    """Keeps each bar a run opens: ``bars[desc] = (total, unit, sum of its steps)``."""

    def __init__(self):
        super().__init__(enabled=True)
        self.bars = {}

    @contextmanager
    def bar(self, desc, total, unit="art", *, lazy=False):
        steps = []
        yield steps.append
        self.bars[desc] = (total, unit, sum(steps))


def test_the_read_draws_a_bar_of_files_and_one_of_the_html_pages_extracted(tmp_path, capsys):
    """Extraction is most of a crawled night: its pages are counted as the workers' chunks come back."""
    from tests.io.pages import classic_page, paragraphs

    for i in range(10):
        (tmp_path / "in").mkdir(exist_ok=True)
        (tmp_path / "in" / f"p{i}.html").write_text(classic_page(paragraphs(40 + i), url=f"https://x.example/{i}"))
    recorder = _Recorder()
    run([tmp_path / "in"], tmp_path / "out", progress=recorder)
    assert recorder.bars["read"] == (10, "file", 10)
    assert recorder.bars["extract"] == (None, "page", 10)
    run([tmp_path / "in"], tmp_path / "out2", progress=True)
    err = capsys.readouterr().err
    assert "file/s" in err and "page/s" in err


def test_a_read_of_json_lines_draws_no_page_bar_and_verify_counts_its_borderline_articles(tmp_path, capsys):
    recorder = _Recorder()
    run([SAMPLE], tmp_path / "out", progress=recorder)
    files, unit, read = recorder.bars["read"]
    assert unit == "file" and files == read > 1 and recorder.bars["extract"][2] == 0
    total, unit, done = recorder.bars["verify"]
    assert unit == "art" and total == done > 0
    run([SAMPLE], tmp_path / "out2", progress=True)
    err = capsys.readouterr().err
    assert "verify" in err and "extract" not in err


def test_progress_bars_count_in_whole_numbers(capsys):
    with Progress(enabled=True).bar("sign", total=300) as advance:
        advance(3)
    err = capsys.readouterr().err
    assert "0/300" in err and ".00/" not in err   # not 0.00/300, nor 3.00/10.0


def test_worker_count_is_not_part_of_the_fingerprint():
    """A nightly state must not refuse a run for using more cores; results do not depend on it."""
    assert Config().replace(align={"workers": 2}).fingerprint() == Config().fingerprint()
    assert Config().replace(align={"align_threshold": 0.6}).fingerprint() != Config().fingerprint()


def test_the_aligners_rules_are_part_of_the_fingerprint_of_stored_rows(monkeypatch):
    """A state copies stored sentence rows only under their fingerprint: rows an aligner with other rules
    wrote (another sentence splitting) are aligned again, not mixed with tonight's."""
    import dedup.config

    before = Config().fingerprint(("align",)), Config().fingerprint()
    monkeypatch.setattr(dedup.config, "ALIGN_RULES", dedup.config.ALIGN_RULES + 1)
    assert Config().fingerprint(("align",)) != before[0]
    assert Config().fingerprint() != before[1]


def test_align_progress_counts_every_story(corpus, monkeypatch):
    """The align bar advances chunk by chunk to the number of stories, serial or forked."""
    from dedup.align import align_clusters

    seen = []

    class Recorder(Progress):
        def bar(self, desc, total, unit="art", *, lazy=False):
            from contextlib import contextmanager

            @contextmanager
            def ctx():
                steps = []
                yield steps.append
                seen.append((desc, total, steps))
            return ctx()

    one = cluster_frame(corpus)
    for workers in (1, 2):
        seen.clear()
        cfg = Config().replace(align={"workers": workers}).align
        res = align_clusters(one.articles, one.clusters, config=cfg, progress=Recorder(enabled=True))
        assert_frame_equal(res.sentences, one.sentences)
        (desc, total, steps), = seen
        assert desc == "align" and total == 6 and sum(steps) == 6


def test_sentences_written_as_aligned_equal_the_frame_written_at_the_end(corpus, tmp_path, monkeypatch):
    """`run` writes the sentence rows chunk by chunk during alignment (never holding them); the
    files are byte for byte those of the in-memory result written at the end, whatever the chunks."""
    from dedup.align import parallel
    from dedup.io import read_inputs
    from dedup.pipeline import run, write_outputs

    source = tmp_path / "corpus.jsonl"
    corpus.write_ndjson(source)
    config = Config().replace(output={"formats": ("parquet", "csv", "json")})
    monkeypatch.setattr(parallel, "SERIAL_CHUNKS", 7)   # several chunks, so several parts
    streamed = run([source], tmp_path / "streamed", config=config)
    assert isinstance(streamed.sentences, pl.LazyFrame)
    assert not list((tmp_path / "streamed").glob("*.partial"))
    in_memory = pipeline._finish(read_inputs([source], config=config.read), config, Timer())
    assert isinstance(in_memory.sentences, pl.DataFrame) and in_memory.sentences.height > 50
    assert_frame_equal(streamed.sentences.collect(), in_memory.sentences)
    (tmp_path / "at_end").mkdir()
    write_outputs(in_memory, tmp_path / "at_end", config)
    for name in ("sentences.parquet", "sentences.csv", "sentences.json", "report.html", "clusters.parquet"):
        assert (tmp_path / "streamed" / name).read_bytes() == (tmp_path / "at_end" / name).read_bytes(), name
    assert streamed.summary["alignment"] == in_memory.summary["alignment"]


def test_a_table_that_cannot_be_written_fails_the_write_after_the_report(corpus, tmp_path, monkeypatch):
    """The tables are written on a second thread while the report is built: an error there is the
    caller's error, raised once the report is done, never lost with the thread."""
    from dedup.io import read_inputs
    from dedup.pipeline import write_outputs

    source = tmp_path / "corpus.jsonl"
    corpus.write_ndjson(source)
    result = pipeline._finish(read_inputs([source], config=Config().read), Config(), Timer())
    calls = []

    def failing(frame, out, name, formats):
        calls.append(name)
        if name == "links":
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(pipeline, "write_table", failing)
    (tmp_path / "out").mkdir()
    with pytest.raises(OSError, match="No space left"):
        write_outputs(result, tmp_path / "out", Config())
    assert calls == ["clusters", "sentences", "links"]
    assert (tmp_path / "out" / "report.html").exists() and (tmp_path / "out" / "summary.json").exists()


def test_a_rerun_stopped_after_its_alignment_leaves_none_of_the_earlier_runs_files(corpus, tmp_path, monkeypatch):
    """A rerun into a used --out first removes the earlier run's outputs (dedup's own names only): stopped
    part-way (killed once its alignment wrote sentences.parquet), it leaves its own files, no timings.json."""
    from dedup.pipeline import run

    source, out = tmp_path / "corpus.jsonl", tmp_path / "out"
    corpus.write_ndjson(source)
    run([source], out, config=Config().replace(output={"formats": ("parquet", "csv", "json")}))
    (out / "notes.txt").write_text("the desk's own file")
    (out / "links.parquet.partial").write_bytes(b"a write cut short")

    def killed(*args):
        raise KeyboardInterrupt   # as a kill between the alignment and the write stage

    monkeypatch.setattr(pipeline, "write_outputs", killed)
    with pytest.raises(KeyboardInterrupt):
        run([source], out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "sentences.parquet"]


def test_a_full_disk_while_the_alignment_writes_its_rows_is_an_output_error(corpus, tmp_path, monkeypatch):
    """sentences.parquet is written during the alignment, row group by row group: a full disk there is
    exit 8, one line, as in the write stage, and no cut-short file is left."""
    import errno

    import pyarrow.parquet as pq

    from dedup.errors import OutputError
    from dedup.pipeline import run

    source = tmp_path / "corpus.jsonl"
    corpus.write_ndjson(source)

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", full)
    with pytest.raises(OutputError, match="sentences.parquet: No space left on device") as caught:
        run([source], tmp_path / "out")
    assert caught.value.exit_code == 8
    assert not list((tmp_path / "out").glob("*.partial")) and not (tmp_path / "out" / "timings.json").exists()


def test_an_input_folder_given_as_a_file_uri_is_refused_as_out_and_state(tmp_path):
    """The Spark engine reads a ``file://`` input through Hadoop, but it is the folder it names: as ``--out`` or
    ``--state`` it is refused as the same folder given as a path is (the outputs would overwrite input files);
    other URIs are not local folders, and are not compared."""
    from dedup.errors import ConfigError
    from dedup.pipeline import check_out_dir, check_state_dir

    folder = tmp_path / "my crawl"
    folder.mkdir()
    for given in (folder.as_uri(), f"file:{folder}", "file://localhost" + str(folder)):
        with pytest.raises(ConfigError, match="is the input folder file:") as caught:
            check_out_dir([given], folder)
        assert caught.value.exit_code == 2
        with pytest.raises(ConfigError, match="is the input folder file:"):
            check_state_dir([given], tmp_path / "out", folder)
    check_out_dir(["hdfs://nn/news", (tmp_path / "other").as_uri()], folder)


def test_stage_timings_line_up_in_one_column_whatever_the_stage_name():
    lines: list[str] = []
    timer = Timer(lines.append)
    for name in ("lsh", "state_sentences", "minhash_prior"):
        timer.run(name, lambda: None)
    assert len({line.index("s", len(line) - 2) for line in lines}) == 1 and len({len(line) for line in lines}) == 1


def test_an_out_with_glob_characters_is_read_back_as_written(corpus, tmp_path):
    """polars takes the paths it reads as glob patterns unless told not to: an --out such as ``night-[1]``
    (``[1]`` matches the name ``night-1``) must be read back where it was written (the sentences, the report)."""
    from dedup.pipeline import run

    source = tmp_path / "corpus.jsonl"
    corpus.write_ndjson(source)
    out = tmp_path / "night-[1]"
    result = run([source], out)
    assert (out / "report.html").is_file() and (out / "timings.json").is_file()
    assert result.sentences.collect().height == pl.read_parquet(out / "sentences.parquet", glob=False).height > 0


def test_run_takes_one_input_given_alone_and_config_replace_names_a_wrong_section(tmp_path):
    from dedup.errors import ConfigError
    from tests.conftest import SAMPLE

    result = pipeline.run(str(SAMPLE), tmp_path / "out")   # not a list: one input, not its characters
    assert result.summary["articles"]["read"] > 0
    with pytest.raises(ConfigError, match="unknown section 'clustr'; valid: "):
        Config().replace(clustr={"threshold": 0.6})
    with pytest.raises(ConfigError, match="cluster: expected a dict of settings, got float"):
        Config().replace(cluster=0.6)
