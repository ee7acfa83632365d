"""dedup: find the same news story republished across outlets, and show how each version differs."""

__version__ = "0.1.0"

from dedup.config import ClusterConfig, Config, MinHashConfig, ReadConfig, ShingleConfig
from dedup.errors import ConfigError, DedupError, EngineError, InputError, OutputError

__all__ = [
    "__version__",
    "Config", "ReadConfig", "ShingleConfig", "MinHashConfig", "ClusterConfig",
    "DedupError", "ConfigError", "InputError", "OutputError", "EngineError",
    "ClusterResult", "cluster_frame", "run",
]

_PIPELINE = ("ClusterResult", "cluster_frame", "run")


def __getattr__(name: str):
    # The pipeline (polars, numba, scipy: about a second) is imported on first use, so that
    # ``dedup --help``, ``--version`` and a mistyped flag answer at once.
    if name in _PIPELINE:
        from dedup import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'dedup' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PIPELINE))
