"""Reports of a run: the editors' HTML page and the end-of-run terminal summary.

Formatting only: the numbers come from the frames and ``summary.json`` a run
produced; nothing here scores or clusters.
"""

from dedup.report.html import build_report, render_report, write_report
from dedup.report.terminal import render_summary

__all__ = ["build_report", "render_report", "render_summary", "write_report"]
