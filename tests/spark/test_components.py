"""Large-star/small-star connected components agree with scipy on random and adversarial graphs."""

from __future__ import annotations

import random
import subprocess
import sys

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as scipy_components

from dedup.spark.session import java_version, unavailable_reason


def _reference(edges: list[tuple[int, int]]) -> dict[int, int]:
    """node -> smallest node of its component, for nodes in an edge."""
    nodes = sorted({x for e in edges for x in e})
    index = {n: i for i, n in enumerate(nodes)}
    left = [index[a] for a, _ in edges]
    right = [index[b] for _, b in edges]
    graph = coo_matrix((np.ones(len(edges)), (left, right)), shape=(len(nodes), len(nodes)))
    _, labels = scipy_components(graph, directed=False)
    smallest: dict[int, int] = {}
    for n, lab in zip(nodes, labels.tolist()):
        smallest.setdefault(lab, n)
    return {n: smallest[lab] for n, lab in zip(nodes, labels.tolist())}


def _graphs():
    rng = random.Random(3)
    chain = [(i, i + 1) for i in range(64)]                                   # long path: most rounds
    star = [(0, i) for i in range(1, 300)]                                     # one hub
    reverse_chain = [(i + 1, i) for i in range(1000, 1100)]
    random_edges = [(rng.randrange(5000), rng.randrange(5000)) for _ in range(3000)]
    loops = [(7, 7), (9, 9), (9, 10)]
    return {"chain": chain, "star": star, "mixed": chain + reverse_chain + random_edges + loops}


@pytest.mark.parametrize("name", ["chain", "star", "mixed"])
def test_components_match_scipy(spark, name):
    from dedup.spark.components import connected_components

    edges = _graphs()[name]
    frame = spark.createDataFrame(edges, "left long, right long")
    result, rounds = connected_components(frame, checkpoint=lambda df: df.localCheckpoint(eager=True))
    got = {r["doc"]: r["component"] for r in result.collect()}
    expected = _reference([e for e in edges if e[0] != e[1]])
    assert got == expected
    assert 1 <= rounds <= 20


def test_no_edges(spark):
    from dedup.spark.components import connected_components

    frame = spark.createDataFrame([], "left long, right long")
    result, rounds = connected_components(frame, checkpoint=lambda df: df.localCheckpoint(eager=True))
    assert result.count() == 0 and rounds == 1


def test_local_engine_never_imports_pyspark(tmp_path):
    """Nor does reading a Spark run back: read_table and `dedup report` on folders of part files."""
    from dedup import run
    from tests.conftest import SAMPLE

    run([SAMPLE / "wires.jsonl"], tmp_path)
    part = tmp_path / "part-00000-x-c000.zstd.parquet"
    for name in ("clusters", "sentences", "links"):  # as Spark lays them out
        (tmp_path / f"{name}.parquet").rename(part)
        (tmp_path / f"{name}.parquet").mkdir()
        part.rename(tmp_path / f"{name}.parquet" / part.name)
    code = ("import sys, dedup, dedup.pipeline, dedup.cli, dedup.spark; "
            "from dedup.spark import unavailable_reason, read_table; "
            "from dedup.report import build_report; "
            f"read_table({str(tmp_path)!r}, 'clusters'); build_report({str(tmp_path)!r}); "
            "bad = [m for m in sys.modules if m.startswith('pyspark')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unavailable_reason_names_the_fix():
    reason = unavailable_reason()
    version = java_version()
    if reason is None:
        assert version is not None and version >= 17
    else:
        assert "pip install '.[spark]'" in reason or "Java" in reason
