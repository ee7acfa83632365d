"""The command line: a thin shell over :mod:`dedup.pipeline`.

Each command builds a :class:`~dedup.config.Config`, calls one library
function and turns a :class:`~dedup.errors.DedupError` into a one-line
message and a non-zero exit code.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
from pathlib import Path

import click

# numba (imported with the pipeline) colours its error messages with colorama, whose exit hook writes a
# colour reset (ESC[0m) to a terminal's stdout, even under --quiet. Set before numba is imported, and here
# rather than in the library: a program that imports dedup keeps numba's own setting.
os.environ.setdefault("NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING", "1")

from dedup import __version__
from dedup.config import CANONICAL_FIELDS, ClusterConfig, Config, OutputConfig
from dedup.errors import ConfigError, DedupError, OutputError
from dedup.signals import EXIT_TERMINATED, Terminated, sigterm_interrupts

#: The type of every path argument and option: the name as typed. click's ``path_type=Path`` would make ``""``
#: (an unset variable) the working folder, ``Path("")``, before dedup could refuse it, and mangle URIs.
_PATH = click.Path(path_type=str)


def _fail(exc: DedupError) -> None:
    click.echo(f"dedup: error: {exc}", err=True)
    sys.exit(exc.exit_code)


def _parse_fields(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for value in values:
        canonical, sep, source = value.partition("=")
        if not sep or not canonical.strip() or not source.strip():
            raise ConfigError(f"--field {value!r}: expected CANONICAL=COLUMN, e.g. --field text=body")
        if canonical.strip() not in CANONICAL_FIELDS:
            raise ConfigError(f"--field {value!r}: unknown field {canonical.strip()!r}; "
                              f"choose one of {', '.join(CANONICAL_FIELDS)}")
        if any(field == canonical.strip() for field, _ in pairs):   # one would silently win
            raise ConfigError(f"--field {canonical.strip()} is given twice; map each field once")
        pairs.append((canonical.strip(), source))   # as written: a header may have spaces (see RecordMapper)
    return tuple(pairs)


def _config_option(help_text: str):
    """The ``--config FILE.toml`` option, one definition for every command that takes the configuration file
    (loaded by :func:`_load_config`); ``help_text`` says which of its tables the command applies."""
    return click.option("--config", "config_file", type=_PATH, default=None, help=help_text)


def _load_config(config_file: str | None) -> Config:
    """The configuration of ``--config`` (default settings without it); a bad file, or a blank name, is a
    ConfigError (exit 2)."""
    return Config.from_toml(config_file) if config_file is not None else Config()


class _StdoutFailed(Exception):
    """Standard output could not be written (a full disk under ``dedup diff A B > diff.txt``): the
    command's result is lost, as when ``--out`` cannot be written. Its message is the OSError's reason."""


def _print(text: str, *, nl: bool = True, color: bool | None = None) -> None:
    """Print a command's result to standard output: every command's result goes through here (``--help`` and
    ``--version`` too), so that a failed write, or a closed standard output (``>&-``), is :class:`_StdoutFailed`
    (one line and exit 8, in :meth:`_Commands.main`), not a traceback. A broken pipe (``dedup diff A B | head``)
    is left to click, which ends quietly on it. A character the output's encoding lacks (a cp1252 console) is
    written escaped."""
    if sys.stdout is None:
        raise _StdoutFailed("it is closed")
    try:
        try:
            click.echo(text, nl=nl, color=color)
        except UnicodeEncodeError:
            encoding = click.get_text_stream("stdout").encoding or "ascii"
            click.echo(text.encode(encoding, "backslashreplace").decode(encoding), nl=nl, color=color)
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            raise
        raise _StdoutFailed(exc.strerror or str(exc)) from exc


def _on_terminal() -> bool:
    """Whether standard output is a terminal (colours); False when it is closed (``>&-``: ``sys.stdout`` is None)."""
    return sys.stdout is not None and sys.stdout.isatty()


def _terminated() -> None:
    """SIGTERM (a scheduler's stop) ended the command, its cleanup done: 143, as a shell tells it."""
    click.echo("dedup: terminated", err=True)
    sys.exit(EXIT_TERMINATED)


class _NotPy4J(logging.Filter):
    """Drops py4j's records: on Ctrl-C or SIGTERM while the driver waits on the JVM, py4j logs the
    interruption and the closed connections with their tracebacks (~30 lines) through the root logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        interrupted = record.exc_info is not None and isinstance(record.exc_info[1], KeyboardInterrupt)
        return not (record.name.startswith("py4j") or interrupted)


class _LastResort(logging.StreamHandler):
    """As ``logging``'s last resort: the message alone, WARNING and above, to ``sys.stderr`` as it is when
    a record comes (not as it was when the handler was made), py4j's records left out."""

    def __init__(self):
        super().__init__()
        self.setLevel(logging.WARNING)
        self.addFilter(_NotPy4J())

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _quiet_py4j() -> None:
    """The CLI's stderr on the Spark engine: warnings of Python libraries as before (``logging``'s last
    resort), py4j's reports of an interruption not (the run says ``dedup: interrupted`` or ``dedup:
    terminated``). A program's choice: the library leaves logging alone."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(_LastResort())


#: click >= 8.2 raises this usage error for a group called without a command; older versions print the help.
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


class _TerminatedRun(Exception):
    """:class:`Terminated` out of a command, carried past click's Ctrl-C handling (which ends the ``^C``
    line with an empty one: a SIGTERM has none)."""


def _show_help(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``--help``, printed as every result is (:func:`_print`): on a full disk, one line and exit 8."""
    if value and not ctx.resilient_parsing:
        _print(ctx.get_help(), color=ctx.color)
        ctx.exit()


def _show_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``--version``, as click's ``version_option`` prints it, through :func:`_print`."""
    if value and not ctx.resilient_parsing:
        _print(f"dedup, version {__version__}", color=ctx.color)
        ctx.exit()


class _Command(click.Command):
    """A command whose ``--help`` goes through :func:`_print` (click's own help option writes with
    ``click.echo``, and an OSError of that write would be a traceback)."""

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.callback = _show_help
        return option


class _Commands(_Command, click.Group):
    """click's group, but a usage error (unknown option, bad choice, missing argument) is one line,
    ``dedup: error: ...``, like every other error, instead of click's usage block. Run as the program
    (standalone), SIGTERM ends a command as Ctrl-C does, its cleanup done (:mod:`dedup.signals`)."""

    command_class = _Command

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Terminated:   # the command's cleanup has run
            raise _TerminatedRun() from None

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            with sigterm_interrupts():
                code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _NO_ARGS_IS_HELP as exc:   # `dedup` alone (click >= 8.2 raises this): the help, not an error line
            click.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message(), err=True)
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            hint = f" (see {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
            click.echo(f"dedup: error: {exc.format_message()}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"dedup: error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort as exc:   # Ctrl-C (click has ended the ^C line): 130 as a shell tells it, not 1
            if exc.__cause__ is not None and not isinstance(exc.__cause__, KeyboardInterrupt):
                raise exc.__cause__ from None   # click's Abort for an EOFError of the run: an internal error
            if isinstance(exc.__cause__, Terminated):
                _terminated()
            click.echo("dedup: interrupted", err=True)
            sys.exit(130)
        except (Terminated, _TerminatedRun):   # SIGTERM in a command, or before click's own handling began
            _terminated()
        except _StdoutFailed as exc:   # the outputs cannot be written: exit 8, as for --out
            click.echo(f"dedup: error: cannot write standard output: {exc}", err=True)
            sys.exit(OutputError.exit_code)
        sys.exit(code if isinstance(code, int) else 0)   # --help and --version end with their exit code


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_show_version,
              help="Show the version and exit.")
def main() -> None:
    """Find the same news story republished across outlets, and show how each version differs.

    \b
    Example:
        dedup cluster examples/sample-corpus --out dedup-out
        open dedup-out/report.html
    """


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=_PATH)  # str: keeps hdfs://...
@click.option("--out", "out_dir", default="dedup-out", show_default=True, type=_PATH,
              help="Folder for the output tables and the report (created if missing).")
@click.option("--threshold", type=float, default=None,
              help="Containment (shared shingles / shingles of the smaller article) at which two articles "
                   "are the same story. Default 0.5.")
@_config_option("TOML file with [read], [shingle], [minhash], [cluster], [align], [output] tables.")
@click.option("--field", "fields", multiple=True, metavar="CANONICAL=COLUMN",
              help="Map an input column to a field (id, outlet, title, text, published, url); repeatable.")
@click.option("--format", "formats", multiple=True, type=click.Choice(["csv", "json"]),
              help="Also write the tables as CSV or JSON (Parquet is always written); repeatable.")
@click.option("--report-articles", type=click.IntRange(min=0), default=None, metavar="N",
              help="report.html holds the details of the stories with the most outlets that fit in N articles "
                   "in all (one too big for what is left is passed over); the others list their outlets only. "
                   f"0 = every story. Default {OutputConfig.report_articles}.")
@click.option("--wire", "wire_outlets", multiple=True, metavar="OUTLET",
              help="Outlet preferred as canonical version when publication times tie; repeatable, in order.")
@click.option("--strict", is_flag=True, help="Stop at the first rejected record instead of going on.")
@click.option("--state", "state_dir", type=_PATH, default=None,
              help="State folder for nightly runs: match tonight's articles against the stored ones of the "
                   "previous --window and keep story ids from night to night (created on the first night).")
@click.option("--night", default=None, metavar="YYYY-MM-DD",
              help="With --state: the night's date (default: the UTC date of the newest article; a rerun of the "
                   "state's newest night gives it).")
@click.option("--window", default=None, metavar="7d",
              help="With --state: stored articles this recent are candidates (7d, 36h, 2w). Default 7d.")
@click.option("--retention", default=None, metavar="30d",
              help="With --state: keep stored texts this long (at least --window); the story history is "
                   "kept. Default 30d.")
@click.option("--engine", type=click.Choice(["local", "spark"]), default="local", show_default=True,
              help="Where to run: this process, or Apache Spark (pip install '.[spark]' from a clone; Java 17+). "
                   "With spark, INPUTS may be any path Spark reads and the tables are folders of part files.")
@click.option("--master", default=None, metavar="URL",
              help="With --engine spark and no active session: the Spark master, e.g. local[2].")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def cluster(inputs, out_dir, threshold, config_file, fields, formats, report_articles, wire_outlets, strict,
            state_dir, night, window, retention, engine, master, quiet):
    """Group articles into stories and write clusters.parquet, summary.json and rejected.jsonl.

    INPUTS are files and folders (read recursively): .jsonl/.ndjson, .json, .csv, .parquet,
    .txt/.md (one article per file, first line is the title), .html/.htm/.xhtml (one page per
    file, main text extracted), .warc (one article per HTML response record), each optionally
    compressed as .gz/.bz2/.xz/.zst; and archives of them (.zip, .tar, .tar.gz/.tgz, .tar.bz2,
    .tar.xz, .tar.zst), read as folders of their members, named ARCHIVE!/path/in/archive.
    With --engine spark they may also be URIs Spark reads (hdfs://, s3a://, file://...);
    the local engine reads file:// URIs only.

    \b
    Example:
        dedup cluster examples/sample-corpus --out dedup-out
        dedup cluster feeds/ exports/cms.csv --field text=body_html --threshold 0.6 --format csv
        dedup cluster feeds/2026-11-27 --state state/ --out out/2026-11-27
        dedup cluster archive/*.jsonl.gz --engine spark --master "local[2]" --out out/
    """
    from dedup.pipeline import run
    from dedup.progress import Progress

    try:
        if state_dir is None and (night is not None or window is not None or retention is not None):
            raise ConfigError("--night, --window and --retention need --state DIR")
        # (an empty --window "" is a bad value, not the default: an unset variable in a crontab)
        nightly = {} if state_dir is None else {
            "state_dir": state_dir, "night": night, "window": "7d" if window is None else window,
            "retention": "30d" if retention is None else retention}
        config = _load_config(config_file)
        read, clus, output = {}, {}, {}
        if fields:   # a field given by a flag is mapped by the flag, not also by the config file
            given = _parse_fields(fields)
            flagged = {field for field, _ in given}
            read["field_map"] = tuple(pair for pair in config.read.field_map if pair[0] not in flagged) + given
        if strict:
            read["strict"] = True
        if threshold is not None:
            try:   # checked alone, so that a refused value is named by the flag given, not by [cluster]
                ClusterConfig(threshold=threshold)
            except ConfigError as exc:
                raise ConfigError(f"--threshold: {exc}") from None
            clus["threshold"] = threshold
        if wire_outlets:
            clus["wire_outlets"] = tuple(wire_outlets)
        if formats:
            output["formats"] = tuple(formats)   # replaces the config file's, as every flag does (Parquet: always)
        if report_articles is not None:
            output["report_articles"] = report_articles
        config = config.replace(**{k: v for k, v in {"read": read, "cluster": clus, "output": output}.items() if v})
        # Stage timings go to stderr on a terminal only; they are in timings.json anyway. The state's notices
        # (the inferred night, a stale lock taken over...) are said nowhere else: to stderr unless --quiet.
        log = None if quiet or not sys.stderr.isatty() else (lambda msg: click.echo(msg, err=True))
        notices = None if quiet else (lambda msg: click.echo(msg, err=True))
        if engine == "spark":
            if state_dir is not None:
                raise ConfigError("--state is not supported with --engine spark yet; run nightly on the local engine")
            from dedup.spark import read_table, run_spark

            _quiet_py4j()
            # URIs (hdfs://nn/x, s3a://bucket/x, file:///x) reach Spark exactly as typed.
            summary = run_spark(list(inputs), out_dir, config=config, master=master, log=log, quiet=quiet)
            clusters = read_table(out_dir, "clusters")
        else:
            if master is not None:
                raise ConfigError("--master needs --engine spark")
            from dedup.io import local_folder, local_path

            inputs = [local_path(item) for item in inputs]  # file:// URIs as paths; other URIs: InputError
            out_dir = local_folder("--out", out_dir)
            if state_dir is not None:
                nightly["state_dir"] = local_folder("--state", state_dir)
            result = run(inputs, out_dir, config=config, log=log, progress=Progress(enabled=log is not None),
                         notices=notices, **nightly)
            summary, clusters = result.summary, result.clusters
    except DedupError as exc:
        _fail(exc)
        return
    if not quiet:
        from dedup.report import render_summary

        _print(render_summary(summary, clusters, report_path=Path(out_dir) / "report.html",
                              color=_on_terminal()).rstrip("\n"))


@main.command()
@click.argument("out_dir", type=_PATH)
@click.option("--articles", type=click.IntRange(min=0), default=None, metavar="N",
              help="The page holds the details of the stories with the most outlets that fit in N articles in "
                   "all (one too big for what is left is passed over); 0 = every story. Default: the run's "
                   f"report_articles (summary.json), else {OutputConfig.report_articles}.")
def report(out_dir, articles):
    """Rebuild OUT_DIR/report.html from the tables a `dedup cluster` run left in OUT_DIR.

    \b
    Example:
        dedup report dedup-out
        dedup report dedup-out --articles 0
    """
    from dedup.report import build_report

    try:
        path = build_report(out_dir, max_articles=articles)
    except DedupError as exc:
        _fail(exc)
        return
    _print(f"wrote {path}")


@main.command()
@click.argument("a")
@click.argument("b")
@click.option("--corpus", "corpus", multiple=True, type=_PATH,
              help="Files or folders in which A and B are looked up as article ids (repeatable). "
                   "Without it, A and B are files holding one article each.")
@_config_option("The TOML file of dedup cluster --config: A, B and the corpus are read with its [read] "
                "settings and diffed with its [align] ones (its other tables do not apply).")
@click.option("--color/--no-color", default=None, help="Colour the output (default: when printing to a terminal).")
def diff(a, b, corpus, config_file, color):
    """Show how article B differs from article A, sentence by sentence.

    A is taken as the original: B's sentences are kept, edited (with a word diff)
    or added, and A's sentences that B lacks are dropped. The IDF weights come
    from the corpus when --corpus is given.

    Texts are diffed, titles are not: they head the output, and its last line
    says when they differ. The first line of a .txt or .md file is its title;
    start the file with a title line to have its first paragraph diffed.

    \b
    Example:
        dedup diff wire.txt outlet.txt
        dedup diff mp-2026-1127-001 hg-port-strike --corpus examples/sample-corpus
        dedup diff wire.txt outlet.txt --config dedup.toml
    """
    from dedup.diffcmd import diff_articles

    color = _on_terminal() if color is None else color
    try:
        text = diff_articles(a, b, corpus=list(corpus), color=color, config=_load_config(config_file))
    except DedupError as exc:
        _fail(exc)
        return
    _print(text, nl=False, color=color)


if __name__ == "__main__":  # pragma: no cover
    main()
