"""What importing dedup costs: the CLI answers --help without the pipeline, the pipeline runs without
scikit-learn's package import (over a second of scipy.stats and pandas for a word list)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from dedup.stopwords import english_stop_words

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sample-corpus"


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", f"{code}\nimport json, sys; print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_the_stop_words_are_scikit_learns():
    assert english_stop_words() == ENGLISH_STOP_WORDS
    assert isinstance(english_stop_words(), frozenset)


def test_the_command_line_and_the_package_import_no_pipeline():
    loaded = _modules_after("import dedup.cli, dedup")
    assert "dedup.pipeline" not in loaded and "polars" not in loaded and "numba" not in loaded


def test_the_package_gives_the_pipeline_functions_on_first_use():
    import dedup
    from dedup import pipeline

    assert dedup.run is pipeline.run and dedup.cluster_frame is pipeline.cluster_frame
    assert {"run", "cluster_frame", "ClusterResult"} <= set(dir(dedup))


def test_a_night_with_the_default_features_never_imports_scikit_learn(tmp_path):
    loaded = _modules_after(f"import dedup\ndedup.run([{str(SAMPLE)!r}], {str(tmp_path)!r})")
    assert "dedup.pipeline" in loaded and "dedup.align.tfidf" in loaded
    assert not any(m == "sklearn" or m.startswith("sklearn.") for m in loaded)
