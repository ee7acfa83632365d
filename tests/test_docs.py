"""The README documents what the code has: every flag, every output column, every setting.

The README promises to document every CLI flag and every output column; these
tests make a flag, column, setting, summary key or timed stage added without
its documentation fail, and keep the quickstart's test command and `.ci/run`'s
the same command.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re

import click
import polars as pl
import pytest

from dedup import Config, run
from dedup.cli import main
from dedup.schema import CLUSTERS, LINKS, SENTENCES, STORY_HISTORY, UTC_TIME, WORD_DIFF
from tests.conftest import REPO, SAMPLE

README = (REPO / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    """The README's text under the heading ``title``, up to the next heading of the same or a higher
    level (lines in fenced code blocks, such as TOML comments, are not headings)."""
    lines, fenced, level, out = README.splitlines(), False, None, []
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
        heading = None if fenced else re.match(r"(#+) (.*?)\s*$", line)
        if level is None:
            if heading and heading.group(2) == title:
                level = len(heading.group(1))
            continue
        if heading and len(heading.group(1)) <= level:
            break
        out.append(line)
    assert level is not None, f"README has no heading {title!r}"
    return "\n".join(out)


def _commands(group: click.Group, path: tuple[str, ...] = ("dedup",)):
    yield path, group
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def test_every_dedup_flag_is_documented():
    missing = [f"{' '.join(path)} {opt}"
               for path, command in _commands(main)
               for param in command.params if isinstance(param, click.Option)
               for opt in param.opts if not re.search(rf"`[^`]*{re.escape(opt)}\b", README)]
    assert not missing, f"flags missing from README.md: {missing}"


def test_every_nightly_recipe_flag_and_exit_code_is_documented():
    spec = importlib.util.spec_from_file_location("nightly_recipe", REPO / "pipelines" / "nightly.py")
    nightly = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nightly)
    parser = nightly._parser()
    section = _section("Nightly runs")
    flags = [opt for action in parser._actions for opt in action.option_strings if opt not in ("-h", "--help")]
    assert "--alert-rejects" in flags   # the introspection sees the recipe's own flags
    missing = [opt for opt in flags if opt not in section]
    assert not missing, f"pipelines/nightly.py flags missing from README's 'Nightly runs': {missing}"
    codes = re.findall(r"^(\d)\s{2,}\S", nightly.__doc__, flags=re.MULTILINE)
    assert codes == [str(n) for n in range(9)], codes
    table = dict(re.findall(r"^\| `(\d)` \| (.+?) \|$", section, flags=re.MULTILINE))
    assert sorted(table) == codes, f"README's exit-code table lists {sorted(table)}, the recipe {codes}"


@pytest.mark.parametrize("schema, heading", [
    (CLUSTERS, "`clusters.parquet`"),
    (SENTENCES, "`sentences.parquet` (schema `SENTENCES`)"),
    (LINKS, "`links.parquet` (schema `LINKS`): \"shares added material with\""),
])
def test_every_output_column_is_documented(schema, heading):
    section = _section(heading)
    documented = {name for cell in re.findall(r"^\| (`.+?) \|", section, flags=re.MULTILINE)
                  for name in re.findall(r"`(\w+)`", cell)}
    assert documented == set(schema.names()), (
        f"{heading}: README documents {sorted(documented - set(schema.names()))} that the schema lacks, "
        f"lacks {sorted(set(schema.names()) - documented)}")


def test_every_story_history_column_is_documented():
    section = _section("Nightly runs")
    missing = [name for name in STORY_HISTORY.names() if f"`{name}`" not in section]
    assert not missing, missing


#: How README's column tables name each dtype the output schemas use.
_README_TYPES = {pl.String: "string", pl.Int32: "int32", pl.Int64: "int64", pl.UInt32: "uint32",
                 pl.Float64: "float", pl.Boolean: "bool", pl.Date: "date", UTC_TIME: "datetime (UTC)",
                 pl.List(pl.String): "list of string", WORD_DIFF: "list of struct `{op: string, text: string}`"}


@pytest.mark.parametrize("schema, heading", [
    (CLUSTERS, "`clusters.parquet`"),
    (SENTENCES, "`sentences.parquet` (schema `SENTENCES`)"),
    (LINKS, "`links.parquet` (schema `LINKS`): \"shares added material with\""),
    (STORY_HISTORY, "Nightly runs"),
])
def test_every_output_column_has_its_type(schema, heading):
    typed = {name: kind for names, kind in re.findall(r"^\| (`[^|]+?) \| ([^|]+?) \| ", _section(heading), re.MULTILINE)
             for name in re.findall(r"`(\w+)`", names) if name in schema}
    wrong = {name: (typed.get(name), _README_TYPES[dtype]) for name, dtype in schema.items()
             if typed.get(name) != _README_TYPES[dtype]}
    assert not wrong, f"{heading}: column: (README's type, the schema's): {wrong}"


def test_every_setting_is_documented():
    section = _section("Configuration file")
    missing = [f"[{table.name}] {field.name}"
               for table in dataclasses.fields(Config)
               for field in dataclasses.fields(getattr(Config(), table.name))
               if not re.search(rf"\b{field.name}\b", section)]
    assert not missing, f"settings missing from README's 'Configuration file': {missing}"


def test_the_configuration_example_is_the_defaults(tmp_path):
    # "Every parameter, with its default": the block, as a file, gives exactly Config()
    block = re.search(r"```toml\n(.*?)```", _section("Configuration file"), re.S).group(1)
    (tmp_path / "dedup.toml").write_text(block, encoding="utf-8")
    assert Config.from_toml(tmp_path / "dedup.toml").to_dict() == Config().to_dict()


@pytest.fixture(scope="module")
def state_run(tmp_path_factory):
    """The sample corpus as a night against a new state: every summary key and timed stage a run writes."""
    root = tmp_path_factory.mktemp("docs")
    run([SAMPLE], root / "out", state_dir=root / "state")
    return root / "out"


def _keys(value):
    """Every key of nested dicts (and of dicts in lists), but not those of counts by reason or status,
    whose keys are data (each reason is listed where the README lists the reasons)."""
    if isinstance(value, list):
        for inner in value:
            yield from _keys(inner)
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield key
            if not key.endswith(("_by_reason", "_by_status")):
                yield from _keys(inner)


def test_every_summary_key_is_documented(state_run):
    summary = json.loads((state_run / "summary.json").read_text())
    summary.pop("parameters")   # the configuration: checked by test_every_setting_is_documented
    text = _section("`summary.json`") + _section("Nightly runs")
    missing = sorted({key for key in _keys(summary) if f"`{key}`" not in text})
    assert not missing, f"summary.json keys missing from README: {missing}"


def test_every_timed_stage_is_documented(state_run):
    stages = json.loads((state_run / "timings.json").read_text())["stages"]
    section = _section("`timings.json`")
    missing = [name for name in stages if not re.search(rf"\b{name}\b", section)]
    assert not missing, f"stages missing from README's timings.json section: {missing}"


def test_ci_runs_the_readme_test_command():
    quickstart = _section("Quickstart")
    commands = [line for line in quickstart.splitlines() if line.startswith("pip install")]
    assert commands[0] == "pip install -e . && dedup cluster examples/sample-corpus --out dedup-out"
    ci = (REPO / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == commands[1], f".ci/run ends with {ci[-1]!r}, the README's test command is {commands[1]!r}"
