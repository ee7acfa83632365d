"""The run's session: the caller's runtime SQL settings carried in, dedup's two required ones set over them."""

from __future__ import annotations

import pytest

from dedup.errors import InputError
from dedup.spark import get_session, run_spark

_KEYS = ("spark.sql.shuffle.partitions", "spark.sql.autoBroadcastJoinThreshold",
         "spark.sql.execution.arrow.maxRecordsPerBatch", "spark.sql.session.timeZone")
_DEDUPS = ("spark.sql.parquet.outputTimestampType", "spark.sql.adaptive.skewJoin.enabled")


def _callers_settings(session) -> None:
    session.conf.set("spark.sql.shuffle.partitions", "7")
    session.conf.set("spark.sql.autoBroadcastJoinThreshold", "-1")
    session.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "500")
    session.conf.set("spark.sql.session.timeZone", "Europe/Paris")


def _assert_carried(settings: dict[str, str]) -> None:
    assert settings["spark.sql.shuffle.partitions"] == "7"             # the caller's
    assert settings["spark.sql.autoBroadcastJoinThreshold"] == "-1"
    assert settings["spark.sql.execution.arrow.maxRecordsPerBatch"] == "500"   # the caller's, over dedup's default
    assert settings["spark.sql.session.timeZone"] == "UTC"             # required: the outputs depend on it
    assert settings["spark.sql.parquet.outputTimestampType"] == "TIMESTAMP_MICROS"
    assert settings["spark.sql.adaptive.skewJoin.enabled"] == "true"    # dedup's default: the caller set none


def test_a_given_sessions_runtime_settings_are_carried_into_the_run(spark, tmp_path, monkeypatch):
    """run_spark(spark=session): the run's session has what the caller set, but the two required settings;
    the caller's session keeps its own values."""
    from dedup.spark import engine

    seen = {}

    def read(run, inputs):   # the run's session, as its first stage gets it
        seen.update({key: run.spark.conf.get(key) for key in (*_KEYS, *_DEDUPS)})
        raise InputError("stopped by the test")

    caller = spark.newSession()
    _callers_settings(caller)
    monkeypatch.setattr(engine, "_read", read)
    with pytest.raises(InputError, match="stopped by the test"):
        run_spark([tmp_path], tmp_path / "out", spark=caller)
    _assert_carried(seen)
    assert caller.conf.get("spark.sql.session.timeZone") == "Europe/Paris"
    assert caller.conf.get("spark.sql.shuffle.partitions") == "7"


def test_the_active_sessions_runtime_settings_are_carried_into_get_session(spark):
    """A notebook's or a spark-submit job's session, taken as the active one, is the caller's too."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    before = {key: value for key, value in active.conf.getAll.items() if key in _KEYS}
    try:
        _callers_settings(active)
        session = get_session()
        _assert_carried({key: session.conf.get(key) for key in (*_KEYS, *_DEDUPS)})
    finally:   # the shared session as it was
        for key in _KEYS:
            active.conf.unset(key)
        for key, value in before.items():
            active.conf.set(key, value)
