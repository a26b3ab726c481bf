"""Progress off a terminal: a plain line at the start, every 30 s of (fake) time, and at the end."""

from __future__ import annotations

import io

from rich.console import Console

from ponder.progress import Progress, duration


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def plain_console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=False, width=200), out


def test_a_console_that_is_not_a_terminal_gets_a_line_every_30_seconds() -> None:
    console, out = plain_console()
    clock = Clock()
    with Progress(console=console, clock=clock, heartbeat=False) as bar:
        task = bar.add_task("study m", total=10)
        assert out.getvalue().splitlines() == ["study m: 0/10 (0%), elapsed 0s, remaining unknown"]
        clock.now += 10
        bar.advance(task)  # 10 s since the last line: nothing new
        clock.now += 20
        bar.advance(task)  # 30 s: a line, remaining from the pace so far
        clock.now += 31
        bar.tick()  # the heartbeat: a line though no item finished
        clock.now += 29
        bar.advance(task, 8)  # the end: a line at once
    assert out.getvalue().splitlines() == [
        "study m: 0/10 (0%), elapsed 0s, remaining unknown",
        "study m: 2/10 (20%), elapsed 30s, remaining ~2m00s",
        "study m: 2/10 (20%), elapsed 1m01s, remaining ~4m04s",
        "study m: 10/10 (100%), elapsed 1m30s, remaining ~0s",
    ]


def test_work_cut_short_still_gets_its_last_line_and_bytes_read_as_sizes() -> None:
    console, out = plain_console()
    clock = Clock()
    with Progress(console=console, clock=clock, heartbeat=False, in_bytes=True) as bar:
        task = bar.add_task("joining m", total=4_000_000)
        clock.now += 5
        bar.advance(task, 1_000_000)
    assert out.getvalue().splitlines()[-1] == ("joining m: 1.0 MB/4.0 MB (25%), elapsed 5s, remaining ~15s")


def test_a_terminal_or_a_disabled_bar_prints_no_plain_lines() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80)
    assert not Progress(console=console).plain
    quiet, quiet_out = plain_console()
    with Progress(console=quiet, disable=True) as bar:
        bar.advance(bar.add_task("x", total=1))
    assert quiet_out.getvalue() == ""


def test_durations() -> None:
    assert [duration(s) for s in (4, 65, 3725)] == ["4s", "1m05s", "1h02m05s"]
