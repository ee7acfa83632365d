"""The configuration file (``--config``) and its settings as the command line takes them: types, ranges, the
file named in every error, and the same run by file or by flag."""

import json

import pytest
from click.testing import CliRunner

from dedup.cli import main
from dedup.config import Config
from tests.conftest import write_jsonl


def _run(*args):
    return CliRunner().invoke(main, list(map(str, args)))


@pytest.mark.parametrize("toml, message", [
    ('[cluster]\nthreshold = "high"\n', "threshold must be a number, got 'high'"),
    ("[cluster]\nthreshold = true\n", "threshold must be a number, got True"),   # not read as 1.0
    ("[align]\nworkers = 1.5\n", "workers must be a whole number"),
    ('[read]\nfield_map = "text"\n', "field_map must be a list"),
    ('[read]\nfield_map = [["text"]]\n', "field_map entries must be [canonical, column] pairs"),
    ('[output]\nformats = "csv"\n', "formats must be a list"),
    # out of range or of the wrong kind, refused before the run rather than failed on in it
    ("[minhash]\nbands = 2.5\nrows = 2\n", "bands must be a whole number >= 1"),
    ("[minhash]\nbands = 0\nrows = 0\n", "bands must be a whole number >= 1"),
    ("[minhash]\nseed = -1\n", "seed must be between 0 and 2**32 - 1"),
    ("[cluster]\nresend_max_days = nan\n", "resend_max_days must be between 0"),
    ("[cluster]\nrescue_min_facts = 5\n", "rescue_min_facts must be in [0, 1]"),
    ("[cluster]\nwire_outlets = [1, 2]\n", "wire_outlets must be a list of outlet names"),
    ('[align]\nsplitter = "pysbd"\n', "splitter 'pysbd' is not installed"),
    ("[align]\nn_features = 4611686018427387904\n", "n_features must be a power of two between 1024 and 2**24"),
])
def test_a_setting_of_the_wrong_type_is_a_one_line_error(tmp_path, toml, message):
    (tmp_path / "c.toml").write_text(toml)
    res = _run("cluster", tmp_path, "--config", tmp_path / "c.toml")
    assert res.exit_code == 2 and message in res.output and res.output.strip().count("\n") == 0, res.output


def test_a_config_path_that_is_a_folder_is_a_one_line_error(tmp_path):
    res = _run("cluster", tmp_path, "--config", tmp_path)
    assert res.exit_code == 2 and "cannot be read" in res.output and res.output.strip().count("\n") == 0


def test_config_file_and_field_flag(tmp_path):
    write_jsonl(tmp_path / "in" / "a.jsonl", [{"id": "1", "story": "Some words here.", "outlet": "X"}])
    (tmp_path / "cfg.toml").write_text('[cluster]\nthreshold = 0.7\n[output]\nformats = ["parquet", "csv"]\n')
    res = _run("cluster", tmp_path / "in", "--config", tmp_path / "cfg.toml", "--field", "text=story",
               "--out", tmp_path / "out")
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["parameters"]["cluster"]["threshold"] == 0.7
    assert summary["articles"]["clustered"] == 1
    assert (tmp_path / "out" / "clusters.csv").exists()


@pytest.mark.parametrize("listed, flags, recorded", [
    (["csv"], ["--format", "csv"], ["parquet", "csv"]),
    (["json", "csv"], ["--format", "csv", "--format", "json"], ["parquet", "csv", "json"]),
])
def test_formats_in_a_config_file_and_by_flag_are_the_same_run(tmp_path, planted, listed, flags, recorded):
    """Parquet is always written: a config file's formats are recorded as --format's are, Parquet first."""
    write_jsonl(tmp_path / "in" / "a.jsonl", planted[0])
    (tmp_path / "c.toml").write_text(f"[output]\nformats = {json.dumps(listed)}\n")
    assert _run("cluster", tmp_path / "in", "--out", tmp_path / "toml", "--config", tmp_path / "c.toml", "-q"
                ).exit_code == 0
    assert _run("cluster", tmp_path / "in", "--out", tmp_path / "flag", *flags, "-q").exit_code == 0
    summary = json.loads((tmp_path / "toml" / "summary.json").read_text())
    assert summary["parameters"]["output"]["formats"] == recorded
    for name in ("summary.json", "report.html"):
        assert (tmp_path / "toml" / name).read_bytes() == (tmp_path / "flag" / name).read_bytes(), name


def test_a_format_flag_replaces_the_config_files_formats(tmp_path, planted):
    """Flags override the config file: --format csv with formats = ["json"] in it writes CSV copies, not JSON."""
    write_jsonl(tmp_path / "in" / "a.jsonl", planted[0])
    (tmp_path / "c.toml").write_text('[output]\nformats = ["json"]\n')
    out = tmp_path / "out"
    assert _run("cluster", tmp_path / "in", "--out", out, "--config", tmp_path / "c.toml", "--format", "csv", "-q"
                ).exit_code == 0
    assert json.loads((out / "summary.json").read_text())["parameters"]["output"]["formats"] == ["parquet", "csv"]
    assert (out / "clusters.csv").is_file() and not (out / "clusters.json").exists()


def test_a_float_setting_written_as_a_whole_number_is_that_float(tmp_path):
    """`kept_threshold = 1` is the default 1.0: the same fingerprint (summary.json, a nightly state's reuse)."""
    (tmp_path / "c.toml").write_text("[align]\nkept_threshold = 1\n[cluster]\nresend_max_days = 4\n")
    config = Config.from_toml(tmp_path / "c.toml")
    assert isinstance(config.align.kept_threshold, float) and isinstance(config.cluster.resend_max_days, float)
    assert config.fingerprint() == Config().fingerprint()
    assert config.replace(cluster={"resend_max_days": 4}).fingerprint() == Config().fingerprint()
    (tmp_path / "c.toml").write_text(f"[cluster]\nresend_max_days = {10 ** 400}\n")
    res = _run("cluster", tmp_path, "--config", tmp_path / "c.toml")
    assert res.exit_code == 2 and "[cluster]: resend_max_days is too large" in res.output, res.output


@pytest.mark.parametrize("toml, message", [
    ("[cluster]\nthreshold = 2\n", "[cluster]: threshold must be in (0, 1], got 2.0"),
    ('[read]\nfield_map = [["head", "x"]]\n', "[read]: field_map: unknown field 'head'"),
    ("[minhash]\nnum_perm = 8\n", "[minhash]: num_perm must be between 16 and 1024, got 8"),
    ("[align]\nreorder_window = -1\n", "[align]: reorder_window must be >= 0, got -1"),
    # a codec that raises on bytes it cannot decode: refused before the run, not failed on in every file
    ('[read]\nencoding = "punycode"\n', "[read]: encoding 'punycode' is not a file encoding (bytes that are not"),
])
def test_a_value_out_of_range_in_the_config_file_names_the_file_table_and_setting(tmp_path, toml, message):
    (tmp_path / "c.toml").write_text(toml)
    res = _run("cluster", tmp_path, "--config", tmp_path / "c.toml")
    assert res.exit_code == 2 and res.output.startswith(f"dedup: error: {tmp_path / 'c.toml'} {message}"), res.output
    assert res.output.strip().count("\n") == 0 and " --" not in res.output   # no flag that was not given


@pytest.mark.parametrize("args, message", [
    (("--threshold", "1.5"), "--threshold: threshold must be in (0, 1], got 1.5"),
    (("--threshold", "nan"), "--threshold: threshold must be in (0, 1], got nan"),
    (("--field", "head=x"), "--field 'head=x': unknown field 'head'"),
])
def test_a_value_out_of_range_in_a_flag_names_the_flag(tmp_path, args, message):
    res = _run("cluster", tmp_path, *args)
    assert res.exit_code == 2 and res.output.startswith(f"dedup: error: {message}"), res.output


def test_a_config_file_with_a_byte_order_mark_is_read(tmp_path):
    (tmp_path / "c.toml").write_bytes(b"\xef\xbb\xbf[cluster]\nthreshold = 0.6\n")
    assert Config.from_toml(tmp_path / "c.toml").cluster.threshold == 0.6


def test_a_field_mapped_twice_in_the_config_file_is_refused_and_a_field_flag_replaces_the_files(tmp_path):
    write_jsonl(tmp_path / "in" / "a.jsonl", [{"id": "x", "outlet": "O", "a": "Alpha text of the first column.",
                                               "b": "Beta text of the second column."}])
    (tmp_path / "twice.toml").write_text('[read]\nfield_map = [["text", "a"], ["text", "b"]]\n')
    res = _run("cluster", tmp_path / "in", "--config", tmp_path / "twice.toml", "--out", tmp_path / "o1", "-q")
    assert res.exit_code == 2, res.output
    assert res.output == (f"dedup: error: {tmp_path / 'twice.toml'} [read]: field_map maps 'text' twice; "
                          "map each field once\n")
    (tmp_path / "a.toml").write_text('[read]\nfield_map = [["text", "a"], ["id", "id"]]\n')
    res = _run("cluster", tmp_path / "in", "--config", tmp_path / "a.toml", "--field", "text=b",
               "--out", tmp_path / "o2", "-q")
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "o2" / "summary.json").read_text())
    assert summary["parameters"]["read"]["field_map"] == [["id", "id"], ["text", "b"]]
