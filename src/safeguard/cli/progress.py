"""Rich progress bars for the terminal, speaking the triage Progress protocol."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class FilesPerSecond(ProgressColumn):
    """Steps per second of a task (Rich's own speed estimate), e.g. ``412 files/s``."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        unit = task.fields.get("unit", "/s")
        return Text(f"{speed:,.0f} {unit}" if speed else "", style="progress.data.speed")


class RichProgress:
    def __init__(self, console: Console) -> None:
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            FilesPerSecond(),
            console=console,
            transient=False,
        )
        self._task: TaskID | None = None
        self._nodes: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._finish()
        self._bar.stop()

    def _get(self, task_id: TaskID) -> Task:
        return next(t for t in self._bar.tasks if t.id == task_id)

    def _finish(self) -> None:
        if self._task is not None:
            task = self._get(self._task)
            self._bar.update(self._task, total=task.completed)
        for node in self._nodes.values():
            self._bar.update(node, total=self._get(node).completed)
        self._nodes.clear()

    def phase(self, name: str, total: int | None = None) -> None:
        self._finish()
        unit = "files/s" if name == "hashing" else "/s"
        # names quote file names: escaped
        self._task = self._bar.add_task(escape(name), total=total, unit=unit)

    def advance(self, steps: int = 1) -> None:
        if self._task is None:
            return
        self._bar.advance(self._task, steps)
        task = self._get(self._task)
        if task.total is not None and task.completed > task.total:
            # Archives hold more files than the folder walk counted: grow the bar.
            self._bar.update(self._task, total=task.completed)

    def node_done(self, node: str, files: int) -> None:
        """Files analysed by one node (cluster ingests): a line per node with its files/s."""
        if node not in self._nodes:
            label = f"  {escape(node)}"
            self._nodes[node] = self._bar.add_task(label, total=None, unit="files/s")
        self._bar.advance(self._nodes[node], files)
