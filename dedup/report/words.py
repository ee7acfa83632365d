"""Words for counts, shared by the report's pages and the nightly history's notes. Stateless."""

from __future__ import annotations


def plural(n: int, one: str, many: str | None = None) -> str:
    """``n`` and the noun for it: "1 story", "2,000 stories"."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"
