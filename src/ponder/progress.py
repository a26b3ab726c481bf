"""Progress for long commands: rich's bar on a terminal, plain lines everywhere else.

A study, a calibration, a probe or a model pull can run for many minutes. On a terminal rich draws
its live bar; when the console is not a terminal (a CI log, `make run > log`) rich draws nothing
until the end, so a log would show silence. There this `Progress` prints one plain line per task when
the task starts, whenever `interval` seconds (30) have passed since the last line, and when it
finishes: `description: done/total (percent), elapsed 1m05s, remaining ~2m10s`.

The lines are driven two ways: every `advance`/`update` checks the clock, and a daemon thread
(`heartbeat`) checks it once a second, so a line still comes while one slow item holds the work.
`clock` is injectable so tests drive time without sleeping; `tick()` is the heartbeat's one step.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from rich import progress as rich_progress
from rich.console import Console
from rich.filesize import decimal
from rich.progress import ProgressColumn, TaskID

INTERVAL = 30.0


def duration(seconds: float) -> str:
    """3725 → '1h02m05s', 65 → '1m05s', 4 → '4s'."""
    s = int(seconds)
    h, m, s = s // 3600, s // 60 % 60, s % 60
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


class Progress(rich_progress.Progress):
    """rich.progress.Progress that, on a console that is not a terminal, prints plain lines."""

    def __init__(
        self,
        *columns: str | ProgressColumn,
        console: Console,
        disable: bool = False,
        transient: bool = False,
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        heartbeat: bool = True,
        in_bytes: bool = False,
    ) -> None:
        self.plain = not disable and not console.is_terminal
        # rich's live display stays off where it cannot animate; its task bookkeeping still runs.
        super().__init__(
            *columns,
            console=console,
            disable=disable or self.plain,
            transient=transient,
            get_time=clock,
        )
        self._interval = interval
        self._clock = clock
        self._heartbeat = heartbeat and self.plain
        self._in_bytes = in_bytes
        self._last: dict[TaskID, float] = {}  # when each task's last line was printed
        self._finished: set[TaskID] = set()
        self._stop_beat = threading.Event()
        self._beat: threading.Thread | None = None

    # 1. The task's lifecycle: a line at the start, on each interval, at the end.
    def add_task(
        self,
        description: str,
        start: bool = True,
        total: float | None = 100.0,
        completed: int = 0,
        visible: bool = True,
        **fields: Any,
    ) -> TaskID:
        task = super().add_task(description, start, total, completed, visible, **fields)
        if self.plain:
            self._line(task)
        return task

    def advance(self, task_id: TaskID, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._check(task_id)

    def update(self, task_id: TaskID, **kwargs: Any) -> None:
        super().update(task_id, **kwargs)
        self._check(task_id)

    def start(self) -> None:
        super().start()
        if self._heartbeat and self._beat is None:
            self._stop_beat.clear()
            self._beat = threading.Thread(target=self._beat_loop, name="ponder-progress", daemon=True)
            self._beat.start()

    def stop(self) -> None:
        if self._beat is not None:
            self._stop_beat.set()
            self._beat.join()
            self._beat = None
        if self.plain:
            for task in self.task_ids:  # work cut short still gets its last line
                if task not in self._finished:
                    self._line(task)
        super().stop()

    def tick(self) -> None:
        """One heartbeat: a line for each unfinished task whose last line is `interval` old."""
        for task in self.task_ids:
            self._check(task)

    # 2. The plain line.
    def _check(self, task_id: TaskID) -> None:
        if not self.plain or task_id in self._finished:
            return
        with self._lock:
            task = self._tasks[task_id]
            due = self._clock() - self._last.get(task_id, float("-inf")) >= self._interval
            if task.finished or due:
                self._line(task_id)

    def _line(self, task_id: TaskID) -> None:
        with self._lock:
            task = self._tasks[task_id]
            done, total, elapsed = task.completed, task.total, task.elapsed or 0.0
            self._last[task_id] = self._clock()
            if task.finished:
                self._finished.add(task_id)
        if total is None:
            count, remaining = self._count(done), ""
        else:
            count = f"{self._count(done)}/{self._count(total)} ({100 * done / total if total else 100:.0f}%)"
            left = elapsed * (total - done) / done if done else None
            remaining = f", remaining ~{duration(left)}" if left is not None else ", remaining unknown"
        self.console.print(
            f"{task.description}: {count}, elapsed {duration(elapsed)}{remaining}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )

    def _count(self, n: float) -> str:
        if self._in_bytes:
            return decimal(int(n))
        return str(int(n)) if n == int(n) else f"{n:.1f}"

    def _beat_loop(self) -> None:
        while not self._stop_beat.wait(1.0):
            self.tick()
