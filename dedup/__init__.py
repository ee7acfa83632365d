"""dedup: find the same news story republished across outlets, and show how each version differs."""

__version__ = "0.1.0"

from dedup.config import ClusterConfig, Config, MinHashConfig, ReadConfig, ShingleConfig  # noqa: E402
from dedup.errors import ConfigError, DedupError, InputError  # noqa: E402
from dedup.pipeline import ClusterResult, cluster_frame, run  # noqa: E402

__all__ = [
    "__version__",
    "Config", "ReadConfig", "ShingleConfig", "MinHashConfig", "ClusterConfig",
    "DedupError", "ConfigError", "InputError",
    "ClusterResult", "cluster_frame", "run",
]
