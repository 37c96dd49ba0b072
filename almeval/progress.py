"""What the user sees while a run goes: the plan, rich progress bars per stage, the summary line.

Everything goes to stderr, so `--json` output on stdout stays machine-readable."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


class Ui:
    def __init__(self, quiet: bool = False):
        self.console = Console(stderr=True, quiet=quiet)
        self.live = self.console.is_terminal and not quiet
        self._progress: Progress | None = None
        self._tasks: dict[str, Any] = {}

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
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=self.console, transient=False) as progress:
            self._progress = progress
            try:
                yield
            finally:
                self._progress = None
                self._tasks.clear()

    def stage(self, name: str, total: int) -> None:
        if self._progress is not None:
            self._tasks[name] = self._progress.add_task(name, total=total, detail="")

    def advance(self, name: str, n: int, **counts: int) -> None:
        if self._progress is not None and name in self._tasks:
            detail = " ".join(f"{k}={v}" for k, v in counts.items())
            self._progress.update(self._tasks[name], advance=n, detail=detail)
