"""Input discovery on hostile trees and names: a folder tree deeper than Python's recursion limit, links given
on the command line to things that are not files."""

import os
import sys
from contextlib import contextmanager

import pytest

from dedup.errors import InputError
from dedup.io import read_inputs
from dedup.io.inputs import find_inputs
from tests.conftest import make_story, write_jsonl


def _rec(name):
    return {"id": name, "outlet": "Gazette", "text": " ".join(make_story(len(name), 4))}


@contextmanager
def crawler_trap(site):
    """A mirrored crawler trap below ``site``: site/a/a/a/... one level per link followed, deeper than Python's
    recursion limit (held at its default, 1,000, meanwhile: pyspark raises it), its deepest folder yielded;
    removed from the bottom up after (shutil.rmtree, which pytest cleans up with, recurses too)."""
    deep, limit = site, sys.getrecursionlimit()
    for _ in range(1_100):   # 2,200 characters of path: well within the 4,096 a path may have
        deep = deep / "a"
        deep.mkdir(parents=deep.parent == site)   # one level at a time: os.makedirs recurses too
    sys.setrecursionlimit(1_000)
    try:
        yield deep
    finally:
        sys.setrecursionlimit(limit)
        while deep != site:
            for path in deep.iterdir():
                if not path.is_dir() or path.is_symlink():
                    path.unlink()
            deep.rmdir()
            deep = deep.parent


def test_a_folder_tree_deeper_than_the_recursion_limit_is_walked(tmp_path):
    write_jsonl(tmp_path / "site" / "top.jsonl", [_rec("top")])
    with crawler_trap(tmp_path / "site") as deep:
        write_jsonl(deep / "x.jsonl", [_rec("deep")])
        (deep.parent / "gone.jsonl").symlink_to(tmp_path / "nowhere")
        (deep.parent / "pipe").symlink_to(tmp_path / "nowhere")
        found = find_inputs([tmp_path / "site"])
        assert found.files == [deep / "x.jsonl", tmp_path / "site" / "top.jsonl"]
        assert found.skipped == [(deep.parent / "pipe", str(deep.parent / "pipe"))]
        assert [(path, message.split(" (")[0]) for path, message in found.unreadable] == [
            (deep.parent / "gone.jsonl", "broken symbolic link")]
        res = read_inputs([tmp_path / "site"])
        assert sorted(res.articles["article_id"]) == ["deep", "top"]


def test_entries_are_decided_in_the_order_folders_are_listed(tmp_path, monkeypatch):
    # skipped and unreadable entries are listed depth first: a folder's own before its next sibling's
    for folder in ("b", "b/c", "a"):
        (tmp_path / folder).mkdir()
        os.mkfifo(tmp_path / folder / "pipe")      # without an extension: skipped
        (tmp_path / folder / "y.jsonl").symlink_to(tmp_path / "nowhere")
    scandir = os.scandir

    class Listing:    # the order os.scandir gives is the file system's; this one lists b before a
        def __init__(self, path):
            self.inner = scandir(path)

        def __enter__(self):
            return sorted(self.inner.__enter__(), key=lambda entry: entry.name, reverse=True)

        def __exit__(self, *exc):
            return self.inner.__exit__(*exc)

    monkeypatch.setattr(os, "scandir", Listing)
    found = find_inputs([tmp_path])
    assert [str(path.relative_to(tmp_path)) for path, _ in found.skipped] == ["b/pipe", "b/c/pipe", "a/pipe"]
    assert [str(path.relative_to(tmp_path)) for path, _ in found.unreadable] == ["b/y.jsonl", "b/c/y.jsonl",
                                                                                  "a/y.jsonl"]


@pytest.mark.parametrize("target", ["device", "pipe"])
def test_a_link_to_a_device_or_a_pipe_on_the_command_line_is_not_a_file(tmp_path, target):
    if target == "pipe":
        os.mkfifo(tmp_path / "fifo")                # must not be opened: reading it would wait forever
    link = tmp_path / "z.jsonl"
    link.symlink_to("/dev/null" if target == "device" else tmp_path / "fifo")
    kind = "a device" if target == "device" else "a named pipe"
    with pytest.raises(InputError, match=rf"z\.jsonl is not a file or a folder \(not a regular file \({kind}\)"):
        find_inputs([link])


def test_a_broken_link_on_the_command_line_does_not_exist(tmp_path):
    (tmp_path / "z.jsonl").symlink_to(tmp_path / "nowhere.jsonl")
    with pytest.raises(InputError, match=r"z\.jsonl does not exist$"):
        find_inputs([tmp_path / "z.jsonl"])
