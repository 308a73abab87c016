"""The ingest's worker pool on a Ray cluster (the optional ``cluster`` extra).

The driver (the ``safeguard ingest`` process) walks the exhibit and writes the store exactly as a
local ingest does; only the analysis of each chunk of files runs as a Ray task, on whichever
node has a free CPU. Files on the exhibit travel as paths, so every node must see the evidence
at the same absolute path (shared storage); archive members travel as bytes (the driver reads
the archive once, as it does locally). Before the first chunk is sent, one probe task pinned to
each alive node checks that it can read the evidence path, so a node without the share is named
up front rather than failing files one by one; each task checks again (a share can go away).

Faults: a task whose worker or node dies is resubmitted by Ray (``max_retries``) on another
node; results are collected in submission order, so the store is written in the same order and
ends identical. A driver killed mid-run loses nothing stored: re-running resumes as locally.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from safeguard.triage.workers import ClusterError, Done, EvidenceUnreachable

_A = TypeVar("_A")
_R = TypeVar("_R")

INSTALL_HINT = "a Ray cluster needs the cluster extra: pip install 'safeguard[cluster]'"
#: System failures (worker or node lost) are retried this many times, on any node.
MAX_RETRIES = 5
#: Seconds to wait for every node's answer to the evidence-path probe.
PROBE_TIMEOUT_S = 120.0


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ClusterError(INSTALL_HINT) from None
    return ray


def _node_label(ray: Any) -> str:
    node_id = ray.get_runtime_context().get_node_id()
    return f"{socket.gethostname()}/{node_id[:8]}"


def _readable(root: str) -> str | None:
    """None when this process can read the evidence path, else why not."""
    try:
        if os.path.isdir(root):
            with os.scandir(root) as entries:
                next(entries, None)
        else:
            with open(root, "rb") as handle:
                handle.read(1)
    except OSError as error:
        return error.strerror or str(error)
    return None


def _probe(root: str) -> tuple[str, str | None]:
    import ray

    return _node_label(ray), _readable(root)


def _run(fn: Callable[[_A], _R], arg: _A, root: str) -> Done[_R]:
    import ray

    node = _node_label(ray)
    if not os.path.exists(root):  # one stat per chunk: the share went away on this node
        raise EvidenceUnreachable(node, root, "no such file or directory on this node")
    return Done(fn(arg), node)


def _cause(error: BaseException) -> BaseException:
    """The exception a Ray task raised, unwrapped from Ray's envelope where there is one."""
    cause = getattr(error, "cause", None)
    return cause if isinstance(cause, BaseException) else error


class RayPool:
    """Chunks of the ingest as Ray tasks (one CPU each) on an existing cluster."""

    sees_local_files = False

    def __init__(self, address: str, root: Path) -> None:
        ray = _import_ray()
        self._ray = ray
        self.root = str(Path(root).absolute())
        self._owns = not ray.is_initialized()
        try:
            if self._owns:
                ray.init(
                    address=address,
                    logging_level="ERROR",
                    log_to_driver=False,
                    configure_logging=False,
                )
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise ClusterError(f"cannot join the Ray cluster at {address}: {error}") from None
        try:
            self._check_nodes()
            cpus = int(ray.cluster_resources().get("CPU", 1))
            self.capacity = max(2, cpus * 4)
            self._remote = ray.remote(_run).options(
                num_cpus=1, max_retries=MAX_RETRIES, retry_exceptions=False
            )
        except BaseException:
            self.close()
            raise

    def _check_nodes(self) -> None:
        """Every alive node with CPUs must read the evidence path; else name one that cannot."""
        ray = self._ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        probe = ray.remote(_probe)
        nodes = [
            n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0
        ]
        if not nodes:
            raise ClusterError("the Ray cluster has no alive node with a CPU")
        refs = {
            probe.options(
                num_cpus=0,
                scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False),
            ).remote(self.root): n
            for n in nodes
        }
        try:
            answers = ray.get(list(refs), timeout=PROBE_TIMEOUT_S)
        except Exception as error:  # noqa: BLE001 - a timeout or a lost node: say which probe
            raise ClusterError(f"could not probe the cluster's nodes: {error}") from None
        for (label, problem), node in zip(answers, refs.values(), strict=True):
            if problem is not None:
                where = f"{label} ({node.get('NodeManagerAddress', '?')})"
                raise EvidenceUnreachable(where, self.root, problem)

    def submit(self, fn: Callable[[_A], _R], arg: _A) -> Future[Done[_R]]:
        inner = self._remote.remote(fn, arg, self.root).future()
        outer: Future[Done[_R]] = Future()

        def settle(done: Future) -> None:
            error = done.exception()
            if error is None:
                outer.set_result(done.result())
                return
            cause = _cause(error)
            if cause is not error and isinstance(cause, Exception):
                outer.set_exception(cause)  # what the task raised, e.g. EvidenceUnreachable
            else:
                outer.set_exception(ClusterError(f"a task was lost on the cluster: {error}"))

        inner.add_done_callback(settle)
        return outer

    def close(self) -> None:
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()
