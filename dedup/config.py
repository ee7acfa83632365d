"""Configuration: the stage settings (:mod:`dedup.settings`), nested in :class:`Config`.

Every parameter that changes signatures, clusters or diffs lives in a stage's
settings, so that :meth:`Config.fingerprint` identifies the output a
configuration produces. Configs load from TOML (``dedup cluster --config
dedup.toml``) with one table per stage::

    [cluster]
    threshold = 0.6
    wire_outlets = ["Reuters", "AP"]

    [minhash]
    num_perm = 256

Unknown keys are refused with the list of valid ones, and a value of the wrong
type or out of range with the file, table and setting's name (the stage's own
checks, which refuse it in Python too). The stage classes are re-exported here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dedup.errors import ConfigError
from dedup.settings import (
    CANONICAL_FIELDS,
    AlignConfig,
    ClusterConfig,
    MinHashConfig,
    OutputConfig,
    ReadConfig,
    ShingleConfig,
)

__all__ = ["ALIGN_RULES", "CANONICAL_FIELDS", "AlignConfig", "ClusterConfig", "Config", "MinHashConfig",
           "OutputConfig", "ReadConfig", "ShingleConfig"]


# Settings that change how fast a run is, never what it outputs: left out of the fingerprint,
# so a nightly state does not refuse a run with another number of workers.
_SPEED_ONLY = {("align", "workers")}
# Bounds on pathological input: they decide which stories are refused (and which pairs of articles over the
# bound get no sentence second opinion), never the rows of one that is aligned (as the read stage's limits,
# which no fingerprint covers). Left out of the fingerprint too, so
# the sentence rows a nightly state stored stay usable (dedup.align.reuse copies none over the bound).
_LIMITS = {("align", "max_sentences")}
# Settings of the LINKS alone, which a nightly state recomputes every night over whole stories: the sentence
# rows do not depend on them, so a narrowed fingerprint (the stored rows a night may copy) leaves them out.
_LINKS_ONLY = {("align", "furniture_min_stories")}
_ALL_STAGES = ("shingle", "minhash", "cluster", "align")
# The aligner's own rules, apart from its settings: bump it when a release changes the sentence rows it
# writes for the same texts and settings (where sentences are cut, what counts as the same sentence). A
# nightly state copies a stored version's rows only under the fingerprint they were aligned with, so the
# rows an older aligner stored are aligned again rather than mixed with tonight's rules.
ALIGN_RULES = 7


@dataclass(frozen=True)
class Config:
    """The whole configuration of a run."""

    read: ReadConfig = field(default_factory=ReadConfig)
    shingle: ShingleConfig = field(default_factory=ShingleConfig)
    minhash: MinHashConfig = field(default_factory=MinHashConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    align: AlignConfig = field(default_factory=AlignConfig)
    output: OutputConfig = field(default_factory=OutputConfig)

    def __post_init__(self):
        for f in dataclasses.fields(self):
            stage, stage_cls = getattr(self, f.name), f.default_factory  # type: ignore[misc]
            if not isinstance(stage, stage_cls):
                hint = f"; use Config().replace({f.name}={{...}})" if isinstance(stage, dict) else ""
                raise ConfigError(f"{f.name}: expected a {stage_cls.__name__}, got {type(stage).__name__}{hint}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def fingerprint(self, stages: tuple[str, ...] = _ALL_STAGES) -> str:
        """A short hash of every parameter that changes signatures, clusters or diffs.

        ``stages`` narrows it to some stages, and a narrowed fingerprint also
        leaves out the settings of the LINKS alone (``furniture_min_stories``):
        ``fingerprint(("align",))`` changes only with the settings a version's
        sentence rows depend on, and with :data:`ALIGN_RULES`.
        """
        skip = _SPEED_ONLY | _LIMITS | (set() if set(stages) >= set(_ALL_STAGES) else _LINKS_ONLY)
        relevant = {stage: {k: v for k, v in values.items() if (stage, k) not in skip}
                    for stage, values in self.to_dict().items() if stage in stages}
        if "align" in relevant:
            relevant["align"]["rules"] = ALIGN_RULES
        blob = json.dumps(relevant, sort_keys=True, default=list).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def replace(self, **stages: Any) -> "Config":
        """Return a copy with some stage fields changed: ``cfg.replace(cluster={"threshold": .6})``."""
        updates = {}
        names = [f.name for f in dataclasses.fields(self)]
        for stage, values in stages.items():
            if stage not in names:
                raise ConfigError(f"unknown section {stage!r}; valid: {names}")
            if not isinstance(values, dict):
                raise ConfigError(f"{stage}: expected a dict of settings, got {type(values).__name__}")
            current = getattr(self, stage)
            updates[stage] = _build(type(current), {**dataclasses.asdict(current), **values}, stage)
        return dataclasses.replace(self, **updates)

    @classmethod
    def from_toml(cls, path: str | Path) -> "Config":
        if not str(path).strip():   # Path("") is the working folder: say what is wrong (an unset variable)
            raise ConfigError(f"the config file's name is blank ({str(path)!r}: an unset variable?); "
                              "give a TOML file, e.g. dedup.toml")
        try:
            # utf-8-sig: a byte-order mark ("UTF-8 with BOM" editors) is not TOML, but no reason to refuse the file
            data = tomllib.loads(Path(path).read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except OSError as exc:   # a folder, no permission...
            raise ConfigError(f"config file {path} cannot be read: {exc.strerror or exc}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "config") -> "Config":
        stages = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(data) - set(stages)
        if unknown:
            raise ConfigError(f"{source}: unknown section(s) {sorted(unknown)}; valid: {sorted(stages)}")
        built = {}
        for name, f in stages.items():
            stage_cls = f.default_factory  # type: ignore[misc]
            built[name] = _build(stage_cls, data.get(name, {}), f"{source} [{name}]")
        return cls(**built)


def given_config(config: Any) -> Config:
    """``config`` as :func:`dedup.run` and :func:`dedup.cluster_frame` take it: a :class:`Config`, or a
    ConfigError saying how to make one (a dict of settings is not read as one)."""
    if not isinstance(config, Config):
        raise ConfigError(f"config must be a Config, e.g. Config().replace(cluster={{\"threshold\": 0.6}}), "
                          f"got {type(config).__name__}")
    return config


def _build(stage_cls, values: dict[str, Any], where: str):
    """A stage's settings from a table of values; a wrong name, type or range is refused with ``where``
    (the stage's own checks: :func:`dedup.settings.check_fields` and its ``__post_init__``)."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a table of settings")
    names = {f.name for f in dataclasses.fields(stage_cls)}
    unknown = set(values) - names
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {sorted(unknown)}; valid: {sorted(names)}")
    try:
        return stage_cls(**values)
    except (TypeError, ValueError, ConfigError) as exc:   # ConfigError: a value of the wrong type or out of range
        raise ConfigError(f"{where}: {exc}") from None
