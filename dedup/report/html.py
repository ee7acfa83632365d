"""The editors' report: one self-contained, deterministic HTML file.

``report.html`` holds everything it needs: the CSS and JavaScript are inlined,
and the data travels as two JSON blocks (the overview list, and the story
details the browser renders only when a story is opened). The same inputs
always give a byte-identical file: there is no generation time in it and
every list is sorted.

Article titles, texts, outlet names and URLs are untrusted. The template
escapes everything it prints (jinja2 autoescape); the JSON blocks escape
``<``, ``>``, ``&`` and U+2028/2029 so no string can close its ``<script>``
element; the browser code writes strings with ``textContent`` only and links
only http(s) URLs; and a Content-Security-Policy allows nothing but the one
inline script and style of the page (by their SHA-256 hashes): no other
script, no image, font, frame or network request.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import orjson
import polars as pl

from dedup.config import OutputConfig
from dedup.errors import ConfigError, InputError
from dedup.io import REJECTS_KEPT, is_blank, table_files
from dedup.io.writers import replacing
from dedup.report import model
from dedup.report.words import plural

REPORT_NAME = "report.html"
REPORT_ARTICLES = OutputConfig.report_articles  # articles of the stories with details in the page (0 = all)
_KNOWN_SUMMARY_KEYS = ("dedup_version", "parameters", "fingerprint")
_JSON_ESCAPES = tuple((char.encode(), escape.encode()) for char, escape in
                      (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                       ("\u2029", "\\u2029")))
_REJECT_FIELDS = ("file", "record", "article_id", "reason", "message")
#: The report's JavaScript (static/), inlined in this order as the body of one function (:func:`_script`): one
#: inline script for the CSP to allow by its hash, and one scope, so each file uses what the others declare.
#: The last one wires the page up and starts it.
SCRIPTS = ("report-core.js", "report-story.js", "report-list.js")


def write_report(out_dir: Path, *, clusters: pl.DataFrame, sentences: pl.DataFrame | pl.LazyFrame | None,
                 links: pl.DataFrame | None, summary: dict, rejects: pl.DataFrame | None = None,
                 notes: list[str] | None = None, max_articles: int = REPORT_ARTICLES) -> Path:
    """Write ``out_dir/report.html`` and return its path.

    Parameters
    ----------
    clusters, sentences, links:
        Frames with the CLUSTERS, SENTENCES and LINKS columns of
        :mod:`dedup.schema` (extra columns are ignored). ``sentences`` and
        ``links`` may be None: the report then shows the clusters only, and
        says so. ``sentences`` may be a LazyFrame (a scan of
        ``sentences.parquet``): its narrow columns are read for every story,
        its texts for the detailed stories only.
    summary:
        The run's ``summary.json`` content. Missing keys are counted from
        ``clusters`` and ``rejects`` instead; unknown keys are listed under
        "Run details".
    rejects:
        Rejected records (REJECTS columns) for the examples shown per reason.
    notes:
        Extra sentences shown at the top of the report.
    max_articles:
        The stories of the ranking (most outlets first) carry their details
        (outlets table, sentence-level differences) while they fit in
        ``max_articles`` articles in all: a story too big for what is left is
        passed over, and the next ones still fill it; the others list their outlets, and a
        note says how to see them. 0 puts every story's detail in the page.
        The cap keeps a big night's report as small as the one measured to
        open in a browser within 2 s (20,000 articles), and its build
        within bounded memory.
    """
    parts = _page(clusters=clusters, sentences=sentences, links=links, summary=summary, rejects=rejects,
                  notes=notes, max_articles=max_articles)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / REPORT_NAME
    with replacing(path, "wb") as handle:   # the page's text is written as UTF-8 with \n line ends, as rendered
        handle.writelines(parts)
    return path


def render_report(*, clusters: pl.DataFrame, sentences: pl.DataFrame | pl.LazyFrame | None, links: pl.DataFrame | None,
                  summary: dict, rejects: pl.DataFrame | None = None, notes: list[str] | None = None,
                  max_articles: int = REPORT_ARTICLES) -> str:
    """The report as a string (see :func:`write_report`). Stateless and deterministic."""
    return b"".join(_page(clusters=clusters, sentences=sentences, links=links, summary=summary, rejects=rejects,
                          notes=notes, max_articles=max_articles)).decode("utf-8")


#: Stands for the page's two JSON blocks while the template is rendered (control characters never
#: reach the page's text: :func:`dedup.report.model.clean` makes them U+FFFD).
_BLOCK = "\x00dedup-json-{}\x00"


def _page(*, clusters: pl.DataFrame, sentences: pl.DataFrame | pl.LazyFrame | None, links: pl.DataFrame | None,
          summary: dict, rejects: pl.DataFrame | None, notes: list[str] | None, max_articles: int) -> list[bytes]:
    """The report page as UTF-8 parts: the rendered template cut where its JSON blocks go, and the
    blocks as orjson wrote them, never decoded into one string (at 20,000 articles the story data is
    16 MB; as text, up to four bytes per character, copied by the template and again when written)."""
    if max_articles < 0:
        raise InputError(f"the number of articles with details must be 0 (all) or more, not {max_articles}")
    summary = summary if isinstance(summary, dict) else {}
    data = model.build_model(clusters, sentences, links, max_articles=max_articles)
    notes = [model.clean(n) for n in notes or []]
    if sentences is None:
        notes.append("Sentence alignment is not available for this run, so the report shows clusters only: "
                      "no per-sentence differences, matrix or provenance.")
    elif links is None:
        notes.append("Provenance links are not available for this run.")
    notes.extend(_alignment_notes(summary))
    n_stories, n_detailed = len(data["stories"]), sum(d is not None for d in data["details"])
    if n_detailed < n_stories:
        notes.append(_capped_note(n_stories, n_detailed, max_articles))
    css, js = _asset("report.css"), _script()
    context = {
        "csp": _csp(css, js), "css": css, "js": js,
        "version": model.clean(summary.get("dedup_version")) or "unknown",
        "fingerprint": model.clean(summary.get("fingerprint")) or "unknown",
        "numbers": model.overview_numbers(summary, clusters, rejects),
        "reject_examples": model.reject_examples(rejects),
        "n_stories": n_stories,
        "notes": notes,
        "counts": model.flatten({k: v for k, v in summary.items() if k not in _KNOWN_SUMMARY_KEYS}),
        "parameters": model.flatten(summary.get("parameters") or {}),
        "overview_json": _BLOCK.format(0),
        "story_json": _BLOCK.format(1),
    }
    html = _environment().get_template("report.html.j2").render(context)
    head, middle, tail = _cut(html, _BLOCK.format(0), _BLOCK.format(1))
    overview = script_json({"outlets": data["outlets"], "stories": data["stories"]})
    del data["outlets"], data["stories"]
    return [head.encode("utf-8"), overview, middle.encode("utf-8"), script_json(data["details"]),
            tail.encode("utf-8")]


def _capped_note(n_stories: int, n_detailed: int, max_articles: int) -> str:
    """The note of a page that holds the details of some of its stories only (or of none)."""
    if n_detailed == 0:
        return (f"None of the night's {plural(n_stories, 'story', 'stories')} carries its details (outlets table, "
                f"sentence-level differences) in this page: each has more than {plural(max_articles, 'article')}. "
                "They list their outlets only. All sentences are in sentences.parquet; `dedup report OUT_DIR "
                "--articles 0` rebuilds this page with every story's detail (a bigger, slower page).")
    one, other = n_detailed == 1, n_stories - n_detailed == 1
    return (f"Of the night's {plural(n_stories, 'story', 'stories')}, {n_detailed:,} "
            f"{'carries its' if one else 'carry their'} details (outlets table, sentence-level differences) in "
            f"this page: {'the one' if one else 'the ones'} with the most outlets that {'fits' if one else 'fit'} "
            f"in {plural(max_articles, 'article')}. {'The other lists its' if other else 'The others list their'} "
            "outlets only. All sentences are in sentences.parquet; `dedup report OUT_DIR --articles 0` rebuilds "
            "this page with every story's detail (a bigger, slower page).")


def _cut(html: str, first: str, second: str) -> tuple[str, str, str]:
    """``html`` before ``first``, between it and ``second``, after ``second`` (each exactly once, in order)."""
    if html.count(first) != 1 or html.count(second) != 1 or html.index(first) > html.index(second):
        raise RuntimeError("report template: each JSON block must appear exactly once, overview first")
    head, rest = html.split(first)
    middle, tail = rest.split(second)
    return head, middle, tail


def _alignment_notes(summary: dict) -> list[str]:
    """A note when the run's summary says some clusters could not be aligned."""
    alignment = summary.get("alignment")
    failed = alignment.get("failed_clusters") if isinstance(alignment, dict) else None
    if not isinstance(failed, int) or isinstance(failed, bool) or failed <= 0:
        return []
    failures = alignment.get("failures") if isinstance(alignment.get("failures"), list) else []
    reasons = Counter(model.clean(f.get("reason")) or "unknown" for f in failures if isinstance(f, dict))
    detail = ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items()))
    return [f"{plural(failed, 'story', 'stories')} could not be aligned sentence by sentence"
            + (f" ({detail})" if detail else "")
            + ("; it shows its outlets" if failed == 1 else "; they show their outlets") + " but no differences."]


def build_report(out_dir: str | Path, *, max_articles: int | None = None) -> Path:
    """Rebuild ``out_dir/report.html`` from the files a run left in ``out_dir``.

    Reads ``clusters.parquet`` (required), ``sentences.parquet`` and
    ``links.parquet`` (optional: without them the report shows clusters only,
    with a note), ``summary.json`` and ``rejected.jsonl`` (optional). Each
    table is one Parquet file (the local engine) or a folder of part files
    read in name order (the Spark engine), see :func:`dedup.io.table_files`.
    ``max_articles`` is :func:`write_report`'s; None takes the run's, as
    summary.json records it (``parameters.output.report_articles``), so that
    the rebuilt page is the page the run wrote, else REPORT_ARTICLES.
    """
    if is_blank(out_dir):   # Path("") is the working folder
        raise ConfigError(f"the output folder's name is blank ({str(out_dir)!r}: an unset variable?); give the "
                          "--out folder of a dedup cluster run, e.g. dedup report dedup-out")
    out = Path(out_dir)
    clusters_path = out / "clusters.parquet"
    if not clusters_path.exists():
        raise InputError(f"{clusters_path} does not exist; run `dedup cluster INPUTS --out {out}` first, "
                         f"then `dedup report {out}`")
    notes: list[str] = []
    clusters = _read_parquet(clusters_path)
    # the sentence rows are scanned, not read: a million-article night's are 3.4 GB in memory
    sentences = _scan_parquet(out / "sentences.parquet") if (out / "sentences.parquet").exists() else None
    links = _read_parquet(out / "links.parquet") if (out / "links.parquet").exists() else None
    summary: dict[str, Any] = {}
    summary_path = out / "summary.json"
    if summary_path.is_file():
        try:
            loaded = json.loads(summary_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            loaded = None
        if isinstance(loaded, dict):
            summary = loaded
        else:   # not JSON, or JSON but not the object a run writes
            notes.append("summary.json could not be read; the numbers are counted from clusters.parquet.")
    else:
        notes.append("summary.json is missing; the numbers are counted from clusters.parquet.")
    rejects = _read_rejects(out / "rejected.jsonl", notes)
    if max_articles is None:
        max_articles = _run_cap(summary)
    summary, history = _with_history(summary, notes)
    return write_report(out, clusters=clusters, sentences=sentences, links=links, summary=summary,
                        rejects=rejects, notes=history + notes, max_articles=max_articles)


def _run_cap(summary: dict[str, Any]) -> int:
    """The ``report_articles`` the run wrote its page with, as summary.json records it; REPORT_ARTICLES for
    a summary without it (or with a value no run writes)."""
    parameters = summary.get("parameters")
    output = parameters.get("output") if isinstance(parameters, dict) else None
    cap = output.get("report_articles") if isinstance(output, dict) else None
    return cap if isinstance(cap, int) and not isinstance(cap, bool) and cap >= 0 else REPORT_ARTICLES


def _with_history(summary: dict[str, Any], notes: list[str]) -> tuple[dict[str, Any], list[str]]:
    """A state run's summary as the pipeline gives it to the report (its history's lists shortened) and
    the history's notes, so that a rebuilt page is the page the run wrote.

    dedup.state (numba and the aligner with it) is imported for a state run's folder only; without a
    history both functions leave the page as it is. A history this version cannot read gets a note.
    """
    if not summary.get("history"):
        return summary, []
    from dedup.state.report import history_notes, summary_for_report
    try:
        return summary_for_report(summary), history_notes(summary)
    except (AttributeError, KeyError, TypeError, ValueError):
        notes.append("The history section of summary.json could not be read; the night's new, grown and "
                     "merged stories are not described here.")
        return summary, []


def script_json(value: Any) -> bytes:
    """JSON that is safe inside ``<script type="application/json">`` (no ``<``, ``>``, ``&``, U+2028/2029),
    as UTF-8 bytes.

    Encoded by orjson (compact, UTF-8, the same text as ``json.dumps(value, ensure_ascii=False,
    separators=(",", ":"))`` for the report's values; ~3x faster on a 20,000-article report's 16 MB)
    and escaped in its bytes, where each replacement is a memchr-speed scan of one byte per
    character. A NaN or infinity becomes null (valid JSON; the json module writes ``NaN`` or refuses it).
    """
    data = orjson.dumps(value)
    for char, escape in _JSON_ESCAPES:
        data = data.replace(char, escape)
    return data


def csp_hash(source: str) -> str:
    """The CSP source expression that allows exactly this inline script or style."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii") + "'"


def _csp(css: str, js: str) -> str:
    return ("default-src 'none'; "
            f"script-src {csp_hash(js)}; style-src {csp_hash(css)}; "
            "img-src 'none'; font-src 'none'; connect-src 'none'; media-src 'none'; object-src 'none'; "
            "frame-src 'none'; worker-src 'none'; manifest-src 'none'; base-uri 'none'; form-action 'none'")


def _script() -> str:
    """The page's one inline script: the SCRIPTS files, in their order, as the body of one function."""
    return "(function () {\n'use strict';\n\n" + "\n".join(_asset(name) for name in SCRIPTS) + "})();\n"


def _asset(name: str) -> str:
    text = (resources.files("dedup.report") / "static" / name).read_text(encoding="utf-8")
    if "</script" in text.lower() or "</style" in text.lower():
        raise RuntimeError(f"static/{name} must not contain a closing script/style tag")
    return text


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("dedup.report", "templates"), autoescape=True,
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def _read_parquet(path: Path) -> pl.DataFrame:
    """A table: one Parquet file, or a folder of part files concatenated in name order."""
    files = _part_files(path)
    try:
        frames = [pl.read_parquet(file, glob=False) for file in files]
        return frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical_relaxed")
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise _unreadable(path, files, exc) from None


def _scan_parquet(path: Path) -> pl.LazyFrame:
    """:func:`_read_parquet` as a scan: each file's footer is checked here, its rows read when needed."""
    files = _part_files(path)
    try:
        for file in files:
            pl.read_parquet_schema(file)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise _unreadable(path, files, exc) from None
    return pl.scan_parquet(files, glob=False)


def _part_files(path: Path) -> list[Path]:
    files = table_files(path)
    if not files:
        raise InputError(f"{path} holds no Parquet part files; rerun `dedup cluster` to rewrite it")
    return files


def _unreadable(path: Path, files: list[Path], exc: Exception) -> InputError:
    where = path if files == [path] else f"{path} ({len(files)} part files)"
    return InputError(f"{where} is not readable as Parquet ({exc}); rerun `dedup cluster` to rewrite it")


def _read_rejects(path: Path, notes: list[str]) -> pl.DataFrame | None:
    if not path.is_file():
        return None
    frames, records, bad = [], [], 0   # rows become a frame a few thousand at a time: there may be millions
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                bad += 1
                continue
            if not isinstance(obj, dict):
                bad += 1
                continue
            record = obj.get("record")
            if not isinstance(record, int) or isinstance(record, bool) or not -2**63 <= record < 2**63:
                record = None
            records.append({**{k: model.clean(obj.get(k)) for k in _REJECT_FIELDS}, "record": record})
            if len(records) >= 4096:
                frames.append(pl.DataFrame(records, schema=REJECTS_KEPT, orient="row"))
                records = []
    if bad:
        notes.append(f"{bad} line(s) of rejected.jsonl could not be read and are not listed.")
    return pl.concat([*frames, pl.DataFrame(records, schema=REJECTS_KEPT, orient="row")])
