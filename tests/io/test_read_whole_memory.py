"""Formats read whole (CSV, JSON) hold what they need, not copies: a CSV file's text is not copied into an
io.StringIO (4 bytes a character), and neither keeps the file's bytes beside its text."""

import csv
import io
import json
import random
import tracemalloc

import pytest

from dedup.io.readers import read_file
from dedup.io.streams import Limits, Source

WORDS = ["river", "bridge", "mayor", "crews", "night", "traffic", "lanes", "march", "council", "budget", "vote",
         "storm", "harbor", "police"]


def _rows(n=2000):
    rng = random.Random(5)
    return [{"id": f"a{i}", "outlet": "Gazette", "text": " ".join(rng.choices(WORDS, k=300))} for i in range(n)]


def _peak(path) -> float:
    """The most memory Python allocated while the reader read ``path``, as a multiple of its size."""
    size = path.stat().st_size
    source = Source(path, Limits(max_record_bytes=1 << 20, max_file_bytes=size))  # read_whole asks for the cap
    tracemalloc.start()
    try:
        assert sum(1 for _ in read_file(source)) == 2000
        return tracemalloc.get_traced_memory()[1] / size
    finally:
        tracemalloc.stop()


def test_a_csv_file_costs_about_twice_its_size(tmp_path):
    path = tmp_path / "a.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, ["id", "outlet", "text"])
        writer.writeheader()
        writer.writerows(_rows())
    assert _peak(path) < 3     # its bytes, then its text; an io.StringIO of the text made it 6 times


def test_a_json_array_costs_its_text_and_its_objects(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(_rows()))
    assert _peak(path) < 2.6   # the text and the objects; with the file's bytes kept beside them, 3.1 times


@pytest.mark.parametrize("text", ["", "a", "a\n", "a\r\nb", "a\rb\r", "\r\n\r\n\n\rx", "a\r\r\nb\n\nc", "é😀\rz\n"])
def test_lines_are_those_of_a_string_buffer(text):
    from dedup.io.readers import _Lines

    lines, buffer = _Lines(text), io.StringIO(text, newline="")
    got, want = [], []
    for line in lines:
        got.append((line, lines.tell()))
    for line in iter(buffer.readline, ""):
        want.append((line, len("".join(w for w, _ in want)) + len(line)))
    assert got == want
    for position in range(len(text) + 1):    # read on from anywhere, as after a seek
        lines.seek(position)
        assert "".join(lines) == text[position:] and lines.tell() == len(text)
