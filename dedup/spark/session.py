"""The SparkSession the engine runs in, and the checks that say why Spark is unavailable.

The engine takes the *active* session when there is one (``spark-submit``, a
notebook, Databricks, EMR, Dataproc: their cluster configuration applies), and
otherwise starts one with ``master`` (``local[2]`` on a laptop). Either way it
works in a :meth:`~pyspark.sql.SparkSession.newSession` of its own: the SQL
settings the engine relies on (UTC session time zone, microsecond Parquet
timestamps) are set there and never leak into the caller's session.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

from dedup.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

#: Java releases Spark 4 runs on.
MIN_JAVA = 17

#: SQL settings every run needs, whatever the caller's session says.
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",                       # `published` is UTC end to end
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",  # not INT96: polars/pyarrow read it as UTC
    "spark.sql.adaptive.enabled": "true",                      # broadcast small sides, split skewed joins
    "spark.sql.adaptive.skewJoin.enabled": "true",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "2000",    # articles per Arrow batch handed to Python
}


def require_pyspark() -> None:
    """Raise a :class:`ConfigError` naming the fix when pyspark (or pandas, which it needs) is missing."""
    # pandas: pyspark's Arrow UDFs refuse to run without it. find_spec looks, without importing.
    for name in ("pyspark", "pandas"):
        if importlib.util.find_spec(name) is None:
            raise ConfigError(f"--engine spark needs pyspark and pandas ({name} is not installed); "
                              "install them with: pip install 'dedup[spark]'")


def java_version() -> int | None:
    """The major version of the ``java`` Spark would launch ($JAVA_HOME first, then PATH), or None."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.path.exists(java):
        return None
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8.0_392" is Java 8


def unavailable_reason() -> str | None:
    """Why the Spark engine cannot run here (None when it can): used by the CLI and the test skips."""
    try:
        require_pyspark()
    except ConfigError as exc:
        return str(exc)
    version = java_version()
    if version is None:
        return "--engine spark needs Java 17 or later, and no `java` was found on PATH or in JAVA_HOME"
    if version < MIN_JAVA:
        return f"--engine spark needs Java {MIN_JAVA} or later (Spark 4); found Java {version}"
    return None


def get_session(master: str | None = None, *, app_name: str = "dedup",
                conf: dict[str, str] | None = None) -> "SparkSession":
    """The engine's SparkSession: a new session over the active one, or over one started with ``master``.

    ``master`` is only used when no session is active (``local[2]``,
    ``spark://host:7077``, ``yarn``...). ``conf`` adds launch settings for a
    session started here (``{"spark.driver.memory": "8g"}``).
    """
    reason = unavailable_reason()
    if reason:
        raise ConfigError(reason)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is None:
        master = master or "local[*]"
        if master.startswith("local"):
            # Python workers run this interpreter (with dedup installed), not whatever `python3` is on PATH.
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = SparkSession.builder.appName(app_name).master(master)
        launch = {"spark.ui.showConsoleProgress": "false", "spark.python.worker.reuse": "true"}
        if master.startswith("local"):
            # A laptop: few shuffle partitions (200 tiny tasks cost more than they give), no web UI.
            cores = re.match(r"local\[(\d+)", master)
            n = int(cores.group(1)) if cores else (os.cpu_count() or 2)
            launch.update({"spark.sql.shuffle.partitions": str(max(2, 2 * n)), "spark.ui.enabled": "false",
                           "spark.driver.memory": "4g"})
        for key, value in {**launch, **(conf or {})}.items():
            builder = builder.config(key, value)
        active = builder.getOrCreate()
        active.sparkContext.setLogLevel("ERROR")
    session = active.newSession()
    for key, value in SESSION_CONF.items():
        session.conf.set(key, value)
    return session
