"""What a state's stored data depends on, and the durations and nights a run is given.

The parameters a state was built with (shingles, signatures, band keys, clusters) are stored in its
manifest with a fingerprint of what stored data depends on (the banding as bands x rows, however it
was given); a run whose effective values differ is refused with the differences, and a setting
added by a newer dedup is applied from that night. Stateless.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime, timedelta
from typing import Any

from dedup.config import Config
from dedup.errors import ConfigError
from dedup.lsh import optimal_bands

_DURATION = re.compile(r"^\s*(\d+)\s*([dhw]?)\s*$")


def parse_duration(value: str | int | timedelta, what: str = "--window") -> timedelta:
    """``"7d"``, ``"36h"``, ``"2w"`` or a number of days -> timedelta (a bad value: :class:`ConfigError`,
    exit code 2, like any other bad parameter; a refused *state* is exit code 5)."""
    if isinstance(value, timedelta):
        out = value
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ConfigError(f"{what} {value!r}: expected a duration such as 7d, 36h or 2w")
        n, unit = int(m.group(1)), m.group(2) or "d"
        try:
            out = timedelta(**{{"d": "days", "h": "hours", "w": "weeks"}[unit]: n})
        except OverflowError:
            raise ConfigError(f"{what} {value!r} is longer than the calendar") from None
    if out <= timedelta(0):
        raise ConfigError(f"{what} must be positive, got {value!r}")
    return out


#: MinHash settings no stored datum depends on: the bound on a bucket's pairs applies at query time, and
#: the threshold only through the banding it derives (stored band keys depend on the bands x rows).
_QUERY_ONLY = ("lsh_threshold", "max_bucket")


def state_parameters(config: Config) -> dict[str, Any]:
    """The shingle, minhash and cluster settings of a run, as written (stored in every manifest).

    Stored data depends on them through :func:`effective_parameters`: shingles, signatures and band
    keys, and the clusters that gave the stories. (Alignment settings may change between nights:
    stored sentence rows are copied only into a run with the settings they were aligned with.)"""
    full = config.to_dict()
    return {k: full[k] for k in ("shingle", "minhash", "cluster")}


def effective_parameters(params: dict[str, Any]) -> dict[str, Any]:
    """What of :func:`state_parameters` (a run's, or a manifest's of any dedup version) stored data
    depends on: the banding as ``bands`` x ``rows`` however it was given (derived from ``lsh_threshold``
    or written out), without the settings of :data:`_QUERY_ONLY`."""
    minhash = params.get("minhash")
    if not isinstance(minhash, dict):
        return params
    minhash = dict(minhash)
    if minhash.get("bands") is None and "lsh_threshold" in minhash and "num_perm" in minhash:
        minhash["bands"], minhash["rows"] = optimal_bands(float(minhash["lsh_threshold"]), minhash["num_perm"])
    for key in _QUERY_ONLY:
        minhash.pop(key, None)
    return {**params, "minhash": minhash}


def fingerprint(params: dict[str, Any]) -> str:
    """A short stable hash of the :func:`effective_parameters` of ``params`` (stored in every manifest).
    An older dedup hashed ``params`` as written, so a state's fingerprint may differ for the same
    settings: :class:`~dedup.state.night.NightlyState` then compares the stored parameters."""
    blob = json.dumps(effective_parameters(params), sort_keys=True, default=list)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """``"key: state X, this run Y"`` for every setting that differs (nested keys dotted)."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out.extend(differences(a, b, f"{prefix}{key}."))
        elif a != b and not (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and list(a) == list(b)):
            out.append(f"{prefix}{key}: state {_shown(a)}, this run {_shown(b)}")
    return out


def _shown(value) -> str:
    """A setting's value as the TOML config file writes it: a list in brackets (a tuple read from a flag
    and the list a state stored are the same setting), a string quoted, a boolean in lower case."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


def added_settings(old: dict, new: dict, prefix: str = "") -> list[str]:
    """Settings of ``new`` that ``old`` (a state's stored parameters) does not have at all."""
    out = []
    for key in sorted(new):
        if key not in old:
            out.append(f"{prefix}{key} = {new[key]!r}")
        elif isinstance(old[key], dict) and isinstance(new[key], dict):
            out.extend(added_settings(old[key], new[key], f"{prefix}{key}."))
    return out


def with_added(old: dict, new: dict) -> dict:
    """``old`` with the settings only ``new`` has taken from ``new`` (so they are not differences)."""
    out = dict(old)
    for key, value in new.items():
        if key not in old:
            out[key] = value
        elif isinstance(old[key], dict) and isinstance(value, dict):
            out[key] = with_added(old[key], value)
    return out


def parse_night(value: date | str) -> date:
    """``--night``: a date, a datetime (its date) or an ISO date string."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"--night {value!r}: expected a date such as 2026-11-27") from None


def format_duration(delta: timedelta) -> str:
    """The inverse of :func:`parse_duration` for the report: whole days as ``"7d"``, else hours."""
    if delta.seconds == 0 and delta.microseconds == 0:
        return f"{delta.days}d"
    return f"{int(delta.total_seconds() // 3600)}h"
