"""Persisted state for nightly runs: stories keep their ids from night to night.

``dedup cluster TONIGHT/ --state STATE/`` (library: ``run(..., state_dir=...)``)
matches tonight's articles against each other **and** against the articles of
the previous nights still in the **window** (default 7 days), then records
tonight in the state. A story keeps its id as outlets join it; a new article
that bridges two stories merges the younger into the older, and the merge is
recorded (:mod:`dedup.state.stories`).

The state is a folder of immutable Parquet files named by a versioned
manifest (:mod:`dedup.state.store`): a run commits fully or not at all, the
previous versions stay readable, and any Parquet reader (Spark included) can
read it. A lock file with stale-lock detection (:mod:`dedup.state.lock`) keeps
a second run out; a state built with other shingle, MinHash or cluster
settings, or by an incompatible version, is refused with what differs.

Rerunning the newest night (its date given: a night inferred from the articles
that is the newest already is refused) replaces it: the rerun builds on the same
base version as the first run, so its outputs are byte-identical.
"""

from dedup.state.errors import StateError, StateLocked
from dedup.state.lock import StateLock
from dedup.state.night import DEFAULT_RETENTION, DEFAULT_WINDOW, NightlyState, parse_duration
from dedup.state.store import FORMAT, TABLES, Manifest, Store


def read_table(state_dir, table: str, *, version: int | None = None):
    """A state table as a polars LazyFrame, as of ``version`` (default: the newest).

    ``table`` is ``"articles"``, ``"assignments"`` (the cluster history: article
    id -> story id per night), ``"story_merges"``, ``"sentences"`` (each night's
    output sentence rows with their canonical, see :mod:`dedup.align.reuse`) or
    ``"furniture"`` (the furniture each night found). Does not take the lock:
    committed versions are immutable.
    """
    if table not in TABLES:
        raise StateError(f"unknown state table {table!r}; choose one of {', '.join(TABLES)}")
    store = Store(state_dir)
    return store.scan(store.manifest(version), table)


__all__ = ["NightlyState", "StateError", "StateLocked", "StateLock", "Store", "Manifest", "TABLES", "FORMAT",
           "DEFAULT_WINDOW", "DEFAULT_RETENTION", "parse_duration", "read_table"]
