"""The ingest pipeline: walk an exhibit, hash every file in worker processes, store in batches.

Resumable by construction: the evidence walk is deterministic, every batch is one transaction,
and files already stored for the exhibit are skipped on the next run. A run killed at any point
therefore ends, once re-run, with exactly the rows of an uninterrupted run.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from safeguard.evidence import EvidenceError, EvidenceItem, EvidenceLimits, iter_evidence
from safeguard.hashing import FileFacts, analyse_file
from safeguard.store.cases import get_case, get_or_create_exhibit
from safeguard.store.database import session_scope
from safeguard.store.files import IngestedFile, annotate_file, existing_paths, store_batch
from safeguard.triage.exhibit_matching import MatchOptions, match_exhibit
from safeguard.triage.progress import NoProgress, Progress


@dataclass(frozen=True)
class IngestOptions:
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    #: Files per worker task: amortises the cost of sending work between processes.
    chunk: int = 8
    #: Files per store transaction.
    batch: int = 256
    limits: EvidenceLimits = field(default_factory=EvidenceLimits)
    matching: MatchOptions = field(default_factory=MatchOptions)


@dataclass
class IngestSummary:
    exhibit_id: int
    files_seen: int = 0
    files_stored: int = 0
    files_already_stored: int = 0
    errors: int = 0


@dataclass(frozen=True)
class _Task:
    seq: int
    logical_path: str
    size: int
    modified: object
    fs_path: Path | None
    data: bytes | None
    #: fs_path is a temporary spill of a large archive member, removed once analysed.
    temporary: bool

    def discard(self) -> None:
        if self.temporary and self.fs_path is not None:
            self.fs_path.unlink(missing_ok=True)


def _analyse(task: _Task) -> tuple[FileFacts | None, str | None]:
    try:
        source = task.data if task.data is not None else task.fs_path
        return analyse_file(source), None
    except OSError as error:
        return None, f"could not read file: {error.strerror or error}"
    except Exception as error:  # noqa: BLE001 - one bad file must not stop the exhibit
        return None, f"could not analyse file: {type(error).__name__}: {error}"


def _analyse_chunk(tasks: list[_Task]) -> list[tuple[FileFacts | None, str | None]]:
    return [_analyse(t) for t in tasks]


class _InlineExecutor(Executor):
    """Runs tasks in this process: for one worker, and for debugging."""

    def submit(self, fn, /, *args, **kwargs):  # noqa: ANN001, ANN201
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001
            future.set_exception(error)
        return future


def _count_files(root: Path) -> int | None:
    if root.is_file():
        return None
    return sum(len(files) for _, _, files in os.walk(root))


def _unique_path(path: str, taken: set[str]) -> str:
    """Archives may hold two members of one name; keep both, deterministically."""
    if path not in taken:
        return path
    n = 2
    while f"{path} [duplicate {n}]" in taken:
        n += 1
    return f"{path} [duplicate {n}]"


@dataclass(frozen=True)
class _Annotation:
    """An error about a file that is itself an item, e.g. an archive that could be read only in
    part: recorded on that file's row rather than as a row of its own."""

    logical_path: str
    message: str


def _walk(
    root: Path, limits: EvidenceLimits, done: set[str], summary: IngestSummary
) -> Iterator[_Task | IngestedFile | _Annotation]:
    """Tasks for files still to analyse, rows for rejected entries, and annotations."""
    seen: set[str] = set()
    for seq, found in enumerate(iter_evidence(root, limits)):
        if isinstance(found, EvidenceError) and found.logical_path in seen:
            yield _Annotation(found.logical_path, found.message)
            continue
        path = _unique_path(found.logical_path, seen)
        seen.add(path)
        summary.files_seen += 1
        if path in done:
            summary.files_already_stored += 1
            if isinstance(found, EvidenceItem):
                found.discard()
            continue
        if isinstance(found, EvidenceError):
            yield IngestedFile(seq, path, None, None, None, found.message)
            continue
        yield _Task(
            seq, path, found.size, found.modified, found.fs_path, found.data, found.temporary
        )


def ingest_exhibit(
    case_reference: str,
    exhibit_reference: str,
    root: Path,
    options: IngestOptions | None = None,
    progress: Progress | None = None,
    database_url: str | None = None,
) -> IngestSummary:
    options = options or IngestOptions()
    progress = progress or NoProgress()
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"exhibit path does not exist: {root}")
    with session_scope(database_url) as session:
        case = get_case(session, case_reference)
        exhibit = get_or_create_exhibit(session, case, exhibit_reference, str(root.resolve()))
        exhibit.state = "ingesting"
        exhibit_id = exhibit.id
        done = existing_paths(session, exhibit_id)
    summary = IngestSummary(exhibit_id=exhibit_id)
    progress.phase("hashing", _count_files(root))
    executor: Executor = (
        ProcessPoolExecutor(options.workers) if options.workers > 1 else _InlineExecutor()
    )
    batch: list[IngestedFile] = []

    def flush() -> None:
        if batch:
            with session_scope(database_url) as session:
                store_batch(session, exhibit_id, batch)
            summary.files_stored += len(batch)
            summary.errors += sum(1 for f in batch if f.error and f.facts is None)
            progress.advance(len(batch))
            batch.clear()

    def collect(tasks: list[_Task], results: list[tuple[FileFacts | None, str | None]]) -> None:
        for task, (facts, error) in zip(tasks, results, strict=True):
            task.discard()
            batch.append(
                IngestedFile(task.seq, task.logical_path, task.size, task.modified, facts, error)
            )  # type: ignore[arg-type]
        if len(batch) >= options.batch:
            flush()

    annotations: list[_Annotation] = []
    in_flight: deque[tuple[list[_Task], Future]] = deque()
    max_in_flight = max(2, options.workers * 4)
    chunk: list[_Task] = []
    try:
        with executor:
            for item in _walk(root, options.limits, done, summary):
                if isinstance(item, IngestedFile):
                    batch.append(item)
                    continue
                if isinstance(item, _Annotation):
                    annotations.append(item)
                    continue
                chunk.append(item)
                if len(chunk) >= options.chunk:
                    in_flight.append((chunk, executor.submit(_analyse_chunk, chunk)))
                    chunk = []
                while len(in_flight) >= max_in_flight:
                    tasks, future = in_flight.popleft()
                    collect(tasks, future.result())
            if chunk:
                in_flight.append((chunk, executor.submit(_analyse_chunk, chunk)))
            while in_flight:
                tasks, future = in_flight.popleft()
                collect(tasks, future.result())
        flush()
        with session_scope(database_url) as session:
            for note in annotations:
                annotate_file(session, exhibit_id, note.logical_path, note.message)
    finally:
        for tasks, _ in in_flight:
            for task in tasks:
                task.discard()
    match_exhibit(exhibit_id, options.matching, progress=progress, database_url=database_url)
    return summary
