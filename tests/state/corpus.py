"""Fictional nights for the state tests: stories that span nights, and a bridge.

Night 1 (2026-11-25), night 2 (2026-11-26), night 3 (2026-11-27):

* story A: the wire on night 1, one outlet more every night (ids ``a-*``);
* stories P and Q: outlets carrying the first half (P, night 1) and the second
  half (Q, night 2) of one wire text; on night 3 the full wire arrives, with a
  timestamp earlier than all of them, and bridges the two (``w-full``);
* a few unrelated singletons every night (``u-*``).
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

from dedup import run
from tests.conftest import article, make_story, write_jsonl

NIGHTS = ("2026-11-25", "2026-11-26", "2026-11-27")
NIGHTLY = Path(__file__).resolve().parents[2] / "pipelines" / "nightly.py"


def load_nightly() -> ModuleType:
    """``pipelines/nightly.py`` imported as a module (it is a script, not a package module)."""
    spec = importlib.util.spec_from_file_location("nightly", NIGHTLY)
    nightly = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nightly)
    return nightly
A = make_story(11, 14)
W = make_story(12, 14)


def night_records(n: int) -> list[dict]:
    """The records of night ``n`` (1, 2 or 3)."""
    day = NIGHTS[n - 1]
    recs = [article(f"u-{n}-{i}", f"Local {i}", make_story(1000 * n + i, 10), f"{day}T0{i}:30:00Z")
            for i in range(3)]
    if n == 1:
        recs += [article("a-wire", "Wire", A, f"{day}T06:00:00Z"),
                 article("a-o1", "Outlet 1", A[:8], f"{day}T09:00:00Z"),
                 article("p-o4", "Outlet 4", W[:7], f"{day}T10:00:00Z"),
                 article("p-o5", "Outlet 5", W[:6], f"{day}T11:00:00Z")]
    if n == 2:
        recs += [article("a-o2", "Outlet 2", A[:10] + make_story(77, 1), f"{day}T08:00:00Z"),
                 article("q-o6", "Outlet 6", W[7:], f"{day}T08:00:00Z"),
                 article("q-o7", "Outlet 7", W[8:], f"{day}T09:00:00Z")]
    if n == 3:
        recs += [article("a-o3", "Outlet 3", [s.replace("minister", "secretary") for s in A[2:12]],
                         f"{day}T07:00:00Z"),
                 # the original wire, late, stamped before every copy of it
                 article("w-full", "Wire", W, "2026-11-24T20:00:00Z")]
    return recs


def write_night(root: Path, n: int, records: list[dict] | None = None) -> Path:
    folder = root / "in" / NIGHTS[n - 1]
    write_jsonl(folder / "articles.jsonl", night_records(n) if records is None else records)
    return folder


def output_files(out: Path) -> dict[str, bytes]:
    """Every output file but timings.json (the only one allowed to differ between reruns)."""
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file() and p.name != "timings.json"}


def three_nights(root: Path, copy: str) -> Path:
    """``root`` with a state of nights 1 and 2 (versions 1 and 2) in ``state``, and night 3's outputs in
    ``out3``, run on a copy of it (``copy``, version 3); ``root``."""
    for n in (1, 2):
        run([write_night(root, n)], root / f"out{n}", state_dir=root / "state", night=NIGHTS[n - 1])
    shutil.copytree(root / "state", root / copy)
    run([write_night(root, 3)], root / "out3", state_dir=root / copy, night=NIGHTS[2])
    return root


def check_way_back(root: Path, state: Path, out: Path) -> None:
    """With the newest manifest of ``state`` (a copy of :func:`three_nights`' ``root``) removed, nights 2 and 3
    run again into ``out`` give the outputs night 3 gave on the intact state."""
    for n in (2, 3):
        run([write_night(root, n)], out / f"out{n}", state_dir=state, night=NIGHTS[n - 1])
    assert output_files(out / "out3") == output_files(root / "out3")
