"""ponder's one error type for bad input and unavailable resources.

A `PonderError` message is one line that says what went wrong and what to do; the CLI prints it
without a traceback and exits non-zero, the server answers it with a 4xx.
"""

from __future__ import annotations


class PonderError(Exception):
    """A user-facing error: one line, saying what to do."""


def missing_extra(package: str, extra: str) -> PonderError:
    return PonderError(
        f"the optional package '{package}' is not installed: run `pip install 'ponder[{extra}]'`"
    )
