"""What the user sees while a run goes: the plan, rich progress bars per stage, the summary line.

Everything goes to stderr, so `--json` output on stdout stays machine-readable."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

PLAIN_EVERY_S = 10.0  # without a terminal: one plain progress line per stage this often


class RateColumn(ProgressColumn):
    """Items per second over the stage so far."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f}/s" if speed else "–/s")


def quiet_dependencies() -> None:
    """Our bars are the only ones: Hugging Face's and transformers' own progress bars are switched off
    (called just before a model or local judge loads). transformers reads the variable when it is first
    imported; it is not imported here for models that never need it (fake, replay, endpoints)."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    hf_logging = sys.modules.get("transformers.utils.logging")
    if hf_logging is not None:
        hf_logging.disable_progress_bar()


class Ui:
    def __init__(self, quiet: bool = False):
        self.console = Console(stderr=True, quiet=quiet)
        self.live = self.console.is_terminal and not quiet
        self._progress: Progress | None = None
        self._tasks: dict[str, Any] = {}
        self._plain: dict[str, list[float]] = {}  # stage → [done, total, started, last printed]
        self._pending: dict[str, int] = {}  # stages announced before the live display started

    def print(self, *args: Any) -> None:
        self.console.print(*args)

    def plan(self, model: str, rows: list[tuple[str, Mapping[str, int]]], skipped: tuple[str, ...]) -> None:
        table = Table(title=f"plan for {model}", title_justify="left")
        for col in ("dataset", "items", "of", "cached", "to infer", "(changed)"):
            table.add_column(col, justify="left" if col == "dataset" else "right")
        for name, c in rows:
            table.add_row(
                name, str(c["items"]), str(c["size"]), str(c["cached"]), str(c["to_infer"]), str(c["changed"])
            )
        self.console.print(table)
        if skipped:
            self.console.print(f"[yellow]not prepared, skipped:[/] {', '.join(skipped)}")

    @contextmanager
    def stages(self) -> Iterator[None]:
        if not self.live:
            yield
            return
        columns = (
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            RateColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=self.console, transient=False) as progress:
            self._progress = progress
            for name, total in self._pending.items():
                self.stage(name, total)
            self._pending.clear()
            try:
                yield
            finally:
                self._progress = None
                self._tasks.clear()

    def stage(self, name: str, total: int) -> None:
        if self._progress is not None:
            self._tasks[name] = self._progress.add_task(name, total=total, detail="")
        elif self.live:
            self._pending[name] = total
        else:
            now = time.monotonic()
            self._plain[name] = [0, total, now, now]

    def advance(self, name: str, n: int, **counts: Any) -> None:
        detail = " ".join(f"{k}={v}" for k, v in counts.items())
        if self._progress is not None and name in self._tasks:
            self._progress.update(self._tasks[name], advance=n, detail=detail)
        elif name in self._plain:  # no terminal (a log file, CI): a plain line now and then, and at the end
            state = self._plain[name]
            state[0] += n
            now = time.monotonic()
            if now - state[3] >= PLAIN_EVERY_S or state[0] >= state[1]:
                state[3] = now
                rate = state[0] / max(now - state[2], 1e-9)
                eta = (state[1] - state[0]) / rate if rate else 0.0
                self.console.print(
                    f"{name}: {int(state[0])}/{int(state[1])}, {rate:.1f}/s, ETA {eta:.0f} s {detail}".rstrip(),
                    highlight=False,
                )
