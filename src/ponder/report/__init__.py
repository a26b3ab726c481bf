"""The study report: a self-contained HTML page rendered from a study folder."""

from ponder.report.page import render

__all__ = ["render"]
