"""The history of a state run in words, for the top of report.html (formatting only)."""

from __future__ import annotations

from typing import Any

from dedup.report.words import plural


def history_notes(summary: dict[str, Any]) -> list[str]:
    """Sentences about tonight against the previous nights; empty for a standalone run."""
    history = summary.get("history")
    if not history:
        return []
    stories = history.get("stories", {})
    notes = [
        f"Night {history['night']}, matched against the previous {history['window']} "
        f"({plural(history['prior_in_window'], 'stored article')}): "
        f"{plural(stories.get('new', 0), 'new story', 'new stories')}, "
        f"{plural(stories.get('grew', 0) + history.get('singletons', {}).get('grew', 0), 'story', 'stories')} "
        f"grew ({_new_outlets(history.get('grew', []))}), "
        f"{plural(stories.get('updated', 0), 'story', 'stories')} updated by outlets already carrying them."
    ]
    for m in history.get("merged", []):
        notes.append(f"Story {m['merged_id']} was merged into {m['into_id']}: a new article bridges them.")
    for s in history.get("split", []):
        notes.append(f"Story {s['story_id']} was split from {', '.join(s['split_from'])}.")
    return notes


def _new_outlets(grew: list[dict[str, Any]]) -> str:
    """How many outlets the stories that grew gained, saying how many were the unknown outlet (null: its
    articles name none)."""
    added = [outlet for g in grew for outlet in g["new_outlets"]]
    unknown = added.count(None)
    if not unknown:
        return plural(len(added), "new outlet")
    return "1 new outlet, an unknown one" if len(added) == 1 else f"{len(added):,} new outlets, {unknown:,} unknown"


def summary_for_report(summary: dict[str, Any]) -> dict[str, Any]:
    """``summary`` with the history's per-story lists replaced by their lengths.

    The report lists every summary number under "Run details"; a night where
    800 stories grew would list 2,400 lines there. The notes above say the
    same in words, and summary.json keeps the lists.
    """
    history = summary.get("history")
    if not history:
        return summary
    short = {k: (len(v) if isinstance(v, list) else v) for k, v in history.items()}
    return {**summary, "history": short}
