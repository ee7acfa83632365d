"""Spark tests: one local[2] session for the whole run, skipped with the reason when Spark cannot start.

The Spark engine needs pyspark and pandas (``pip install '.[spark]'``) and
Java 17 or later; without them every test here is skipped and says which is
missing.
"""

from __future__ import annotations

import pytest

from dedup.spark import unavailable_reason

REASON = unavailable_reason()


def pytest_configure(config):
    config.addinivalue_line("markers", "spark: runs the Spark engine in a local[2] session "
                                       "(skipped without pyspark, pandas or Java 17+)")


def pytest_collection_modifyitems(config, items):
    """Tests that use the ``spark`` fixture are marked ``spark`` and skipped, with the reason, without Spark."""
    skip = pytest.mark.skip(reason=f"Spark engine unavailable: {REASON}") if REASON else None
    for item in items:
        if "spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.spark)
            if skip:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def spark():
    """A local[2] session shared by the Spark tests (as CI runs them)."""
    from dedup.spark import get_session

    session = get_session("local[2]", conf={"spark.driver.memory": "3g"})
    yield session
    session.sparkContext.stop()
