"""Rich progress bars for the terminal, speaking the triage Progress protocol."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class RichProgress:
    def __init__(self, console: Console) -> None:
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> RichProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._finish()
        self._bar.stop()

    def _finish(self) -> None:
        if self._task is not None:
            task = self._bar.tasks[-1]
            self._bar.update(self._task, total=task.completed)

    def phase(self, name: str, total: int | None = None) -> None:
        self._finish()
        self._task = self._bar.add_task(escape(name), total=total)  # names quote file names

    def advance(self, steps: int = 1) -> None:
        if self._task is None:
            return
        self._bar.advance(self._task, steps)
        task = self._bar.tasks[-1]
        if task.total is not None and task.completed > task.total:
            # Archives hold more files than the folder walk counted: grow the bar.
            self._bar.update(self._task, total=task.completed)
