"""The ingest pipeline: walk an exhibit, hash every file in worker processes, store in batches.

Resumable by construction: the evidence walk is deterministic, every batch is one transaction,
and files already stored for the exhibit are skipped on the next run. A run killed at any point
therefore ends, once re-run, with exactly the rows of an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import TypeVar

from safeguard.domain.progress import NoProgress, Progress
from safeguard.evidence import EvidenceError, EvidenceItem, EvidenceLimits, iter_evidence
from safeguard.evidence.images import ImageError, describe_image, verify_image
from safeguard.evidence.items import FileOrigin
from safeguard.evidence.names import unique_logical_path
from safeguard.evidence.walk import disk_image_kind
from safeguard.hashing import FileFacts, analyse_file, timing
from safeguard.hashing.video_analysis import empty_video_error
from safeguard.store import audit
from safeguard.store.cases import get_case, get_or_create_exhibit
from safeguard.store.database import session_scope
from safeguard.store.files import IngestedFile, annotate_file, existing_paths, store_batch
from safeguard.store.images import record_image, record_verification
from safeguard.store.locks import exhibit_lock
from safeguard.store.models import Exhibit
from safeguard.store.previews import drop_unneeded_previews, exhibit_preview_count
from safeguard.store.review_models import FULL, THUMB
from safeguard.triage.exhibit_matching import MatchOptions, match_exhibit
from safeguard.triage.workers import Done, WorkerPool, local_pool


@dataclass(frozen=True)
class IngestOptions:
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    #: Files per worker task: amortises the cost of sending work between processes.
    chunk: int = 8
    #: Files per store transaction.
    batch: int = 256
    limits: EvidenceLimits = field(default_factory=EvidenceLimits)
    matching: MatchOptions = field(default_factory=MatchOptions)
    #: The workers make every picture's review previews from their own decode (one pass: no
    #: second read, digest or decode); those no one needs are dropped after matching.
    previews: bool = True
    #: Carve pictures and videos out of a disk image's free space (PhotoRec).
    carve: bool = False
    #: Hash a disk image end to end against its stored acquisition hashes before the walk.
    verify: bool = False
    #: A Ray cluster to hash on instead of local processes (``ray://HOST:PORT``, ``HOST:PORT``
    #: or ``auto``); needs the ``cluster`` extra. ``workers`` is then ignored.
    cluster: str | None = None


#: Keys of ``IngestSummary.timings``. Wall seconds of this process: total, walk (the evidence
#: walk), wait (for worker results), store (setup, batches and annotations), match (matching
#: and grouping) and previews (dropping the previews no one needs, counting the rest). Seconds
#: summed over the worker processes (they overlap each other and the above): ``workers.busy``
#: (analysing files) and its parts ``workers.<phase>`` for each of
#: ``safeguard.hashing.timing.PHASES``.
TIMINGS: tuple[str, ...] = (
    "total",
    "walk",
    "wait",
    "store",
    "match",
    "previews",
    "workers.busy",
    *(f"workers.{phase}" for phase in timing.PHASES),
)


@dataclass
class IngestSummary:
    exhibit_id: int
    files_seen: int = 0
    files_stored: int = 0
    files_already_stored: int = 0
    errors: int = 0
    #: Pictures of this exhibit that need review and have their previews (made by the workers).
    previews: int = 0
    #: For a disk image: its format and, with ``verify``, the verification result.
    image: ImageSummary | None = None
    #: Where the time went, in seconds (see ``TIMINGS``); a few clock reads per file.
    timings: dict[str, float] = field(default_factory=lambda: dict.fromkeys(TIMINGS, 0.0))
    #: Files analysed by each node (host name, or host/node id on a cluster).
    nodes: dict[str, int] = field(default_factory=dict)
    #: Wall seconds from the first task sent to the last result taken (for files/s per node).
    hashing_seconds: float = 0.0

    def node_rates(self) -> dict[str, float]:
        """Files per second of each node over the hashing phase."""
        wall = self.hashing_seconds or 1e-9
        return {node: files / wall for node, files in sorted(self.nodes.items())}


@dataclass(frozen=True)
class ImageSummary:
    format: str
    media_size: int
    #: None unless verified: "verified", "mismatch", "unreadable", "computed".
    verification: str | None = None
    detail: str | None = None


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
    previews: bool = True
    origin: FileOrigin | None = None

    def discard(self) -> None:
        if self.temporary and self.fs_path is not None:
            self.fs_path.unlink(missing_ok=True)


def _analyse(task: _Task) -> tuple[FileFacts | None, str | None]:
    try:
        source = task.data if task.data is not None else task.fs_path
        facts = analyse_file(source, previews=task.previews)
        return facts, empty_video_error(facts, task.logical_path)  # a 0-byte "x.mp4" is an error
    except OSError as error:
        return None, f"could not read file: {error.strerror or error}"
    except Exception as error:  # noqa: BLE001 - one bad file must not stop the exhibit
        return None, f"could not analyse file: {type(error).__name__}: {error}"


_Results = list[tuple[FileFacts | None, str | None]]


def _analyse_chunk(tasks: list[_Task]) -> tuple[_Results, dict[str, float]]:
    """The chunk's results, and the seconds this worker spent on it, split by phase."""
    before = timing.snapshot()
    started = perf_counter()
    results = [_analyse(t) for t in tasks]
    spent = {f"workers.{phase}": s for phase, s in timing.since(before).items()}
    spent["workers.busy"] = perf_counter() - started
    return results, spent


_T = TypeVar("_T")


def _timed(items: Iterable[_T], timings: dict[str, float], key: str) -> Iterator[_T]:
    """``items``, adding the time spent producing each one to ``timings[key]``."""
    iterator = iter(items)
    while True:
        started = perf_counter()
        try:
            item = next(iterator)
        except StopIteration:
            return
        finally:
            timings[key] += perf_counter() - started
        yield item


def _in_memory(task: _Task) -> _Task:
    """A spilled archive member as bytes, for workers that cannot see this host's temp folder."""
    if not task.temporary or task.fs_path is None:
        return task
    return dataclasses.replace(task, fs_path=None, data=task.fs_path.read_bytes(), temporary=False)


def worker_pool(options: IngestOptions, root: Path) -> WorkerPool:
    """Local processes, or a Ray cluster when ``options.cluster`` names one."""
    if options.cluster:
        from safeguard.triage.cluster import RayPool  # the optional extra, imported on demand

        return RayPool(options.cluster, root)
    return local_pool(options.workers)


def _count_files(root: Path) -> int | None:
    if root.is_file() or disk_image_kind(root) is not None:
        return None
    return sum(len(files) for _, _, files in os.walk(root))


@dataclass(frozen=True)
class _Annotation:
    """An error about a file that is itself an item, e.g. an archive that could be read only in
    part: recorded on that file's row rather than as a row of its own."""

    logical_path: str
    message: str


def _walk(
    root: Path,
    limits: EvidenceLimits,
    done: set[str],
    summary: IngestSummary,
    previews: bool = True,
    carve: bool = False,
) -> Iterator[_Task | IngestedFile | _Annotation]:
    """Tasks for files still to analyse, rows for rejected entries, and annotations."""
    seen: set[str] = set()
    for seq, found in enumerate(iter_evidence(root, limits, carve=carve)):
        if isinstance(found, EvidenceError) and found.logical_path in seen:
            yield _Annotation(found.logical_path, found.message)
            continue
        path = unique_logical_path(found.logical_path, seen)
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
            seq,
            path,
            found.size,
            found.modified,
            found.fs_path,
            found.data,
            found.temporary,
            previews,
            found.origin,
        )


def _ingested(task: _Task, facts: FileFacts | None, error: str | None) -> IngestedFile:
    origin = task.origin or FileOrigin()
    return IngestedFile(
        task.seq,
        task.logical_path,
        task.size,
        task.modified,  # type: ignore[arg-type]
        facts,
        error,
        created=origin.created,
        accessed=origin.accessed,
        changed=origin.changed,
        inode=origin.inode,
        deleted=origin.deleted,
        unallocated=origin.unallocated,
        carved=origin.carved,
        physical_offset=origin.physical_offset,
    )


def _record_image(
    root: Path,
    kind: str,
    exhibit_id: int,
    verify: bool,
    progress: Progress,
    database_url: str | None,
) -> ImageSummary:
    """Store the image's acquisition metadata and, if asked, verify it (audited)."""
    try:
        facts = describe_image(root, kind)
    except ImageError as error:
        return ImageSummary(kind, 0, "unreadable" if verify else None, str(error))
    with session_scope(database_url) as session:
        record_image(
            session,
            exhibit_id,
            format=facts.format,
            segments=facts.segments,
            media_size=facts.media_size,
            bytes_per_sector=facts.bytes_per_sector,
            stored_md5=facts.stored_md5,
            stored_sha1=facts.stored_sha1,
            headers=facts.headers,
        )
    if not verify:
        return ImageSummary(facts.format, facts.media_size)
    progress.phase("verifying", facts.media_size)
    try:
        result = verify_image(root, kind, progress.advance)
    except ImageError as error:
        result = None
        outcome = ("unreadable", str(error), None, None)
    else:
        outcome = (result.result, result.detail, result.md5, result.sha1)
    with session_scope(database_url) as session:
        record_verification(session, exhibit_id, *outcome)
        exhibit = session.get(Exhibit, exhibit_id)
        audit.append(
            session,
            "image_verify",
            case_id=exhibit.case_id if exhibit else None,
            detail={
                "exhibit": exhibit.reference if exhibit else exhibit_id,
                "format": facts.format,
                "result": outcome[0],
                "detail": outcome[1],
                "md5": outcome[2],
                "sha1": outcome[3],
            },
        )
    return ImageSummary(facts.format, facts.media_size, outcome[0], outcome[1])


def ingest_exhibit(
    case_reference: str,
    exhibit_reference: str,
    root: Path,
    options: IngestOptions | None = None,
    progress: Progress | None = None,
    database_url: str | None = None,
    pool: WorkerPool | None = None,
) -> IngestSummary:
    """Ingest one exhibit; raises ExhibitBusy when another process is ingesting it. ``pool``
    (closed here when done) overrides the one ``options`` chooses (local processes, or the Ray
    cluster of ``options.cluster``)."""
    with exhibit_lock(database_url, case_reference, exhibit_reference):
        return _ingest_exhibit(
            case_reference, exhibit_reference, root, options, progress, database_url, pool
        )


def _ingest_exhibit(
    case_reference: str,
    exhibit_reference: str,
    root: Path,
    options: IngestOptions | None = None,
    progress: Progress | None = None,
    database_url: str | None = None,
    pool: WorkerPool | None = None,
) -> IngestSummary:
    options = options or IngestOptions()
    progress = progress or NoProgress()
    root = Path(root).absolute()  # workers on other nodes see it at the same absolute path
    if not root.exists():
        raise FileNotFoundError(f"exhibit path does not exist: {root}")
    started = perf_counter()
    with session_scope(database_url) as session:
        case = get_case(session, case_reference)
        exhibit = get_or_create_exhibit(session, case, exhibit_reference, str(root.resolve()))
        exhibit.state = "ingesting"
        exhibit_id = exhibit.id
        done = existing_paths(session, exhibit_id)
    summary = IngestSummary(exhibit_id=exhibit_id)
    timings = summary.timings
    timings["store"] += perf_counter() - started
    image_kind = disk_image_kind(root)
    if image_kind is not None:
        summary.image = _record_image(
            root, image_kind, exhibit_id, options.verify, progress, database_url
        )
    pool = pool or worker_pool(options, root)
    progress.phase("hashing", _count_files(root))
    node_done = getattr(progress, "node_done", None)
    batch: list[IngestedFile] = []

    def flush() -> None:
        if batch:
            flushing = perf_counter()
            with session_scope(database_url) as session:
                store_batch(session, exhibit_id, batch)
            timings["store"] += perf_counter() - flushing
            summary.files_stored += len(batch)
            summary.errors += sum(1 for f in batch if f.error and f.facts is None)
            progress.advance(len(batch))
            batch.clear()

    def collect(tasks: list[_Task], future: Future[Done]) -> None:
        waiting = perf_counter()
        done = future.result()
        results, spent = done.value
        timings["wait"] += perf_counter() - waiting
        summary.nodes[done.node] = summary.nodes.get(done.node, 0) + len(tasks)
        if node_done is not None:
            node_done(done.node, len(tasks))
        for key, seconds in spent.items():
            timings[key] = timings.get(key, 0.0) + seconds
        for task, (facts, error) in zip(tasks, results, strict=True):
            task.discard()
            batch.append(_ingested(task, facts, error))
        if len(batch) >= options.batch:
            flush()

    annotations: list[_Annotation] = []
    in_flight: deque[tuple[list[_Task], Future[Done]]] = deque()
    chunk: list[_Task] = []

    def send(tasks: list[_Task]) -> None:
        shipped = tasks if pool.sees_local_files else [_in_memory(t) for t in tasks]
        in_flight.append((tasks, pool.submit(_analyse_chunk, shipped)))

    hashing = perf_counter()
    try:
        try:
            walk = _walk(
                root, options.limits, done, summary, options.previews, carve=options.carve
            )
            for item in _timed(walk, timings, "walk"):
                if isinstance(item, IngestedFile):
                    batch.append(item)
                    continue
                if isinstance(item, _Annotation):
                    annotations.append(item)
                    continue
                chunk.append(item)
                if len(chunk) >= options.chunk:
                    send(chunk)
                    chunk = []
                while len(in_flight) >= pool.capacity:
                    collect(*in_flight.popleft())
            if chunk:
                send(chunk)
            while in_flight:
                collect(*in_flight.popleft())
        finally:
            pool.close()
        summary.hashing_seconds = perf_counter() - hashing
        flush()
        annotating = perf_counter()
        with session_scope(database_url) as session:
            for note in annotations:
                annotate_file(session, exhibit_id, note.logical_path, note.message)
        timings["store"] += perf_counter() - annotating
    finally:
        for tasks, _ in in_flight:
            for task in tasks:
                task.discard()
    matching = perf_counter()
    match_exhibit(exhibit_id, options.matching, progress=progress, database_url=database_url)
    timings["match"] += perf_counter() - matching
    pruning = perf_counter()
    with session_scope(database_url) as session:
        drop_unneeded_previews(session, exhibit_id, (THUMB, FULL))
        summary.previews = exhibit_preview_count(session, exhibit_id)
    timings["previews"] += perf_counter() - pruning
    timings["total"] += perf_counter() - started
    return summary
