"""Reading a report page's embedded data back, for the report tests."""

from __future__ import annotations

import json
import re


def _blocks(html: str) -> dict[str, str]:
    found = re.findall(r'<script type="application/json" id="([a-z-]+)">(.*?)</script>', html, flags=re.S)
    return dict(found)


def _data(html: str) -> tuple[dict, list]:
    blocks = _blocks(html)
    return json.loads(blocks["overview-data"]), json.loads(blocks["story-data"])
