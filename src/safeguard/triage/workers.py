"""Where the ingest's work runs: a small seam between the pipeline and its worker pool.

The ingest hands a pool one function and one chunk of tasks at a time and takes back, in order,
futures of :class:`Done` (the function's value and the node that computed it). What the function
computes is the ingest's business; the pool only moves it. Three pools:

* :class:`InlinePool`: this process (one worker; debugging).
* :class:`ProcessPool`: local worker processes (``concurrent.futures``), as the ingest always had.
* :class:`RayPool` (``triage/cluster.py``, the optional ``cluster`` extra): Ray tasks on the
  nodes of a cluster that see the evidence on shared storage; lost tasks are retried elsewhere.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

_A = TypeVar("_A")
_R = TypeVar("_R")


@dataclass(frozen=True)
class Done(Generic[_R]):
    """A finished unit of work and the node (host or cluster node) that did it."""

    value: _R
    node: str


class WorkerPool(Protocol):
    """Runs ``fn(arg)`` somewhere; closing waits for nothing more than what was collected."""

    #: How many chunks may usefully be in flight at once (the driver keeps a few per worker).
    capacity: int
    #: Whether workers can open files this process writes to its own temporary folder (archive
    #: members spilled to disk); when not, the ingest sends such members as bytes.
    sees_local_files: bool

    def submit(self, fn: Callable[[_A], _R], arg: _A) -> Future[Done[_R]]: ...

    def close(self) -> None: ...


def _labelled(fn: Callable[[_A], _R], arg: _A, node: str) -> Done[_R]:
    return Done(fn(arg), node)


class InlinePool:
    """Runs each chunk in this process, at submit time."""

    capacity = 2
    sees_local_files = True

    def __init__(self) -> None:
        self.node = socket.gethostname()

    def submit(self, fn: Callable[[_A], _R], arg: _A) -> Future[Done[_R]]:
        future: Future[Done[_R]] = Future()
        try:
            future.set_result(_labelled(fn, arg, self.node))
        except BaseException as error:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(error)
        return future

    def close(self) -> None:
        pass


class ProcessPool:
    """Local worker processes (one machine; temporary spill files are visible to them)."""

    sees_local_files = True

    def __init__(self, workers: int) -> None:
        self.capacity = max(2, workers * 4)
        self.node = socket.gethostname()
        self._executor = ProcessPoolExecutor(workers)

    def submit(self, fn: Callable[[_A], _R], arg: _A) -> Future[Done[_R]]:
        return self._executor.submit(_labelled, fn, arg, self.node)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def local_pool(workers: int) -> WorkerPool:
    return ProcessPool(workers) if workers > 1 else InlinePool()


class ClusterError(RuntimeError):
    """The cluster could not run the ingest (not installed, unreachable, tasks lost)."""


class EvidenceUnreachable(ClusterError):
    """A node of the cluster cannot read the evidence path (shared storage not mounted there)."""

    def __init__(self, node: str, path: str, reason: str) -> None:
        super().__init__(node, path, reason)
        self.node, self.path, self.reason = node, path, reason

    def __str__(self) -> str:
        return f"node {self.node} cannot read the evidence path {self.path}: {self.reason}"
