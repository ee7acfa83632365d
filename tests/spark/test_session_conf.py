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


class _Conf:
    def __init__(self, values: dict[str, str]):
        self.values = dict(values)

    @property
    def getAll(self) -> dict[str, str]:   # pyspark's name (a property in pyspark 4)
        return dict(self.values)

    def set(self, key: str, value: str) -> None:
        self.values[key] = value


class _Session:
    """A session over a context whose settings are ``context`` (spark-submit --conf, spark-defaults.conf)."""

    def __init__(self, context: dict[str, str], runtime: dict[str, str] | None = None):
        self.context, self.conf = context, _Conf({**context, **(runtime or {})})

    def newSession(self) -> _Session:   # pyspark's name
        return _Session(self.context)


def test_the_contexts_settings_win_over_dedups_defaults_and_lose_to_the_required_ones():
    """A key of DEFAULT_CONF the context was given (spark-defaults.conf: a smaller Arrow batch for the
    executors' memory, adaptive execution off) is kept; dedup's default applies only to a key nobody set;
    the two settings the outputs depend on are dedup's whatever the context says."""
    from dedup.spark.session import DEFAULT_CONF, REQUIRED_CONF, own_session

    context = {"spark.sql.execution.arrow.maxRecordsPerBatch": "500", "spark.sql.adaptive.enabled": "false",
               "spark.sql.session.timeZone": "Europe/Paris"}
    got = own_session(_Session(context, {"spark.sql.shuffle.partitions": "7"})).conf.getAll
    assert got["spark.sql.execution.arrow.maxRecordsPerBatch"] == "500"
    assert got["spark.sql.adaptive.enabled"] == "false"
    assert got["spark.sql.adaptive.skewJoin.enabled"] == DEFAULT_CONF["spark.sql.adaptive.skewJoin.enabled"]
    assert got["spark.sql.shuffle.partitions"] == "7"                      # the caller's runtime setting
    assert {key: got[key] for key in REQUIRED_CONF} == REQUIRED_CONF
