"""What the Spark engine prints: `--quiet` is errors only, Spark's start-up notices included."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from dedup.spark.session import JVM_NOTICES, QUIET_LOG4J, _forward_stderr
from tests.spark.conftest import REASON
from tests.spark.corpora import planted_corpus, write_jsonl


def test_the_jvm_notice_is_dropped_and_every_other_line_is_passed_on():
    jvm = io.BytesIO(b"WARNING: Using incubator modules: jdk.incubator.vector\n"
                     b"26/11/30 23:53:40 ERROR Executor: task 3 failed\n"
                     b"java.lang.OutOfMemoryError: Java heap space\n"
                     b"caf\xc3\xa9 \xff\n")
    out = io.StringIO()
    _forward_stderr(jvm, out)
    assert out.getvalue() == ("26/11/30 23:53:40 ERROR Executor: task 3 failed\n"
                              "java.lang.OutOfMemoryError: Java heap space\n"
                              "caf\u00e9 \ufffd\n")
    assert JVM_NOTICES and QUIET_LOG4J.is_file()


@pytest.mark.spark
@pytest.mark.skipif(REASON is not None, reason=f"Spark engine unavailable: {REASON}")
def test_a_quiet_session_logs_its_context_errors_once_started():
    """The quiet log4j file turns the SparkContext's logger off while it starts (a context that fails to start
    logs a Java stack trace, which dedup restates); once started, its errors are logged again."""
    script = ("from dedup.spark.session import get_session; s = get_session('local[1]', quiet=True); "
              "jvm = s.sparkContext._jvm; "
              "print(jvm.org.apache.logging.log4j.LogManager.getLogger('org.apache.spark.SparkContext').getLevel())")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ERROR"]


@pytest.mark.spark
@pytest.mark.skipif(REASON is not None, reason=f"Spark engine unavailable: {REASON}")
def test_quiet_run_on_spark_prints_nothing(tmp_path):
    """Its own process: the driver JVM of the shared test session is already started (and not quiet)."""
    corpus = write_jsonl(planted_corpus(stories=3, singles=3), tmp_path / "in" / "night.jsonl")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "dedup.cli", "cluster", str(corpus), "--out", str(out),
                           "--engine", "spark", "--master", "local[1]", "--quiet"],
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")
    assert (out / "summary.json").is_file()


@pytest.mark.spark
@pytest.mark.skipif(REASON is not None, reason=f"Spark engine unavailable: {REASON}")
@pytest.mark.parametrize("quiet", [False, True], ids=["loud", "quiet"])
def test_a_master_spark_refuses_is_a_one_line_config_error(tmp_path, quiet):
    """Spark's driver says why on stderr; dedup adds one line, exit 2 (no traceback), and makes no --out."""
    corpus = write_jsonl(planted_corpus(stories=1, singles=1), tmp_path / "in" / "night.jsonl")
    done = subprocess.run([sys.executable, "-m", "dedup.cli", "cluster", str(corpus), "--out", str(tmp_path / "out"),
                           "--engine", "spark", "--master", "bogus://nowhere", *(["--quiet"] if quiet else [])],
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "Master must" in done.stderr   # Spark's reason, passed on under --quiet too
    assert done.stderr.splitlines()[-1].startswith("dedup: error: Spark did not start with --master bogus://nowhere")
    assert not (tmp_path / "out").exists()


def test_a_java_io_failure_of_spark_s_writers_is_an_output_error(spark, tmp_path):
    """Spark writes the tables in the JVM: a full disk there reaches Python as a py4j error whose cause
    is a java.io.IOException. That is exit 8, one line; any other failure goes on as it is."""
    from py4j.protocol import Py4JJavaError

    from dedup.errors import OutputError
    from dedup.spark.outputs import java_io_failure, java_writes_into
    jvm = spark.sparkContext._jvm
    full = jvm.java.nio.file.FileSystemException("/out/part-0", None, "No space left on device")  # an IOException
    aborted = Py4JJavaError("An error occurred while calling o81.parquet",
                            jvm.org.apache.spark.SparkException("Job aborted.", full))
    assert java_io_failure(aborted) == "/out/part-0: No space left on device"
    with pytest.raises(OutputError, match="cannot write the outputs in .*No space left") as caught, \
            java_writes_into(tmp_path):
        raise aborted
    assert caught.value.exit_code == 8
    other = Py4JJavaError("An error occurred", jvm.org.apache.spark.SparkException("Python worker failed"))
    assert java_io_failure(other) is None and java_io_failure(ValueError("x")) is None
    with pytest.raises(Py4JJavaError), java_writes_into(tmp_path):
        raise other


def test_quiet_keeps_the_driver_java_options_of_spark_defaults(tmp_path, monkeypatch):
    """--quiet gives the driver a log4j file through spark.driver.extraJavaOptions; spark-defaults.conf's
    value of that setting, which a value given at launch replaces, is read and kept in front of it."""
    from dedup.spark.session import spark_defaults
    (tmp_path / "spark-defaults.conf").write_text(
        "# site settings\nspark.driver.extraJavaOptions   -Dsite.proxy=proxy:3128 -Xss4m\n"
        "spark.executor.memory=2g\n! another comment\nspark.eventLog.enabled: true\n\n")
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    assert spark_defaults() == {"spark.driver.extraJavaOptions": "-Dsite.proxy=proxy:3128 -Xss4m",
                                "spark.executor.memory": "2g", "spark.eventLog.enabled": "true"}
    # what get_session gives the driver to start with (stopped there: no JVM is started)
    from pyspark.sql import SparkSession

    from dedup.spark import session

    class Started(Exception):
        pass

    launched = {}

    def start(master, app_name, settings):
        launched.update(settings)
        raise Started

    monkeypatch.setattr(SparkSession, "getActiveSession", classmethod(lambda cls: None))
    monkeypatch.setattr(session, "_start_quietly", start)
    monkeypatch.setattr(session, "unavailable_reason", lambda: None)   # no JVM is started: Java not needed
    with pytest.raises(Started):
        session.get_session("local[1]", quiet=True)
    assert launched["spark.driver.extraJavaOptions"] == \
        f"-Dsite.proxy=proxy:3128 -Xss4m -Dlog4j2.configurationFile={QUIET_LOG4J.as_uri()}"
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path / "none"))
    assert spark_defaults() == {}


@pytest.mark.spark
@pytest.mark.skipif(REASON is not None, reason=f"Spark engine unavailable: {REASON}")
@pytest.mark.parametrize("master, quiet, reason", [("local[abc]", True, "Could not parse Master URL: 'local[abc]'"),
                                                   ("local[0]", False, "Asked to run locally with 0 threads")])
def test_a_master_the_spark_context_refuses_is_a_one_line_config_error(tmp_path, master, quiet, reason):
    """spark-submit takes it, the SparkContext refuses it: exit 2 and Spark's reason on dedup's one line."""
    corpus = write_jsonl(planted_corpus(stories=1, singles=1), tmp_path / "in" / "night.jsonl")
    done = subprocess.run([sys.executable, "-m", "dedup.cli", "cluster", str(corpus), "--out", str(tmp_path / "out"),
                           "--engine", "spark", "--master", master, *(["--quiet"] if quiet else [])],
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    if quiet:   # the reason once, on dedup's line: not Spark's ERROR log and Java stack trace before it
        assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.splitlines()[-1].startswith(f"dedup: error: Spark did not start with --master {master}: "
                                                   f"{reason}; a master is local[N]")
    assert not (tmp_path / "out").exists()


def test_spark_defaults_and_the_environment_win_over_dedups_launch_defaults(tmp_path, monkeypatch):
    """dedup's defaults for a session it starts (4g of driver memory, 2N shuffle partitions) are given only for
    the keys spark-defaults.conf and SPARK_DRIVER_MEMORY leave unset: given at launch, they would replace them."""
    from pyspark.sql import SparkSession

    from dedup.spark import session

    (tmp_path / "spark-defaults.conf").write_text("spark.driver.memory 6g\nspark.sql.shuffle.partitions 33\n")
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    monkeypatch.delenv("SPARK_DRIVER_MEMORY", raising=False)

    class Started(Exception):
        pass

    def launched(**kwargs) -> dict:
        settings = {}

        def start(master, app_name, given):
            settings.update(given)
            raise Started
        monkeypatch.setattr(session, "_start_quietly", start)
        with pytest.raises(Started):
            session.get_session("local[1]", quiet=True, **kwargs)
        return settings

    monkeypatch.setattr(SparkSession, "getActiveSession", classmethod(lambda cls: None))
    monkeypatch.setattr(session, "unavailable_reason", lambda: None)   # no JVM is started: Java not needed
    settings = launched()
    assert "spark.driver.memory" not in settings and "spark.sql.shuffle.partitions" not in settings
    assert settings["spark.ui.enabled"] == "false"
    assert launched(conf={"spark.driver.memory": "8g"})["spark.driver.memory"] == "8g"   # the caller's: given
    (tmp_path / "spark-defaults.conf").write_text("")
    assert launched()["spark.driver.memory"] == "4g"
    monkeypatch.setenv("SPARK_DRIVER_MEMORY", "5g")
    assert "spark.driver.memory" not in launched()


def test_without_pyspark_the_hint_is_the_install_from_a_clone(monkeypatch):
    """dedup is not on PyPI: `pip install 'dedup[spark]'` would fail or install another project."""
    import importlib.util

    from dedup.errors import ConfigError
    from dedup.spark.session import require_pyspark

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "pyspark" else find_spec(name, *args))
    with pytest.raises(ConfigError, match=r"pyspark is not installed\); install them from a clone of dedup with: "
                                          r"pip install '\.\[spark\]'$"):
        require_pyspark()
