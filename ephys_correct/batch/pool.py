"""Running the files of a batch in worker processes so that one file cannot sink the run.

A worker process that dies (a crash in a C extension, ``os._exit``, the
out-of-memory killer) breaks a :class:`concurrent.futures.ProcessPoolExecutor`
and, with it, every file queued on it.  Here only a few files per worker are in
flight, so when the pool breaks the *suspects* are exactly the few files in flight.
(At most two per worker: one running, one waiting, so that no worker idles
between files.)  The pool is rebuilt; each suspect is run again alone, in its own one-worker
pool: a file that kills its worker again is the culprit and fails with the
reason (*on_killed* records it, see :mod:`ephys_correct.batch.run`); the
innocent ones finish normally.  The rest of the run goes on in the rebuilt
pool.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

#: how often a run may lose its pool before the remaining files fail (a machine
#: that kills every worker, e.g. no memory at all, must not loop for ever)
MAX_POOL_REBUILDS = 50
#: files in flight per worker (running or waiting in the pool's queue)
IN_FLIGHT_PER_WORKER = 2


def run_in_processes(items: Sequence[Any], process: Callable[[Any], dict], finish: Callable[[int, dict], None],
                     *, n_jobs: int, mp_context: Any, killed_row: Callable[[int, str], dict],
                     on_killed: Callable[[int, str], None] | None = None) -> None:
    """Run ``process(items[i])`` for every *i* in worker processes; call ``finish(i, row)`` for each.

    Parameters
    ----------
    items : sequence
        The work items (picklable).
    process : callable
        Module-level function; returns the result row of one item and never raises.
    finish : callable
        Called in this process as ``finish(index, row)`` once per item.
    n_jobs : int
        Worker processes.
    mp_context : multiprocessing context
        Start method of the workers.
    killed_row : callable
        ``killed_row(index, reason)``: the failed row of an item that killed its worker.
    on_killed : callable, optional
        ``on_killed(index, reason)``: called once per culprit (e.g. to record it).

    Returns
    -------
    None
    """
    queue = list(range(len(items)))[::-1]  # pop() from the end: input order
    rebuilds = 0
    while queue:
        suspects: list[int] = []
        with ProcessPoolExecutor(max_workers=n_jobs, mp_context=mp_context) as pool:
            inflight: dict[Future, int] = {}
            try:
                while queue or inflight:
                    while queue and len(inflight) < IN_FLIGHT_PER_WORKER * n_jobs:
                        i = queue.pop()
                        inflight[pool.submit(process, items[i])] = i
                    done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                    broken = False
                    for fut in done:
                        i = inflight.pop(fut)
                        try:
                            finish(i, fut.result())
                        except BrokenProcessPool:
                            suspects.append(i)
                            broken = True
                    if broken:
                        suspects += list(inflight.values())
                        inflight.clear()
                        break
            except BaseException:
                for fut in inflight:
                    fut.cancel()
                raise
        if not suspects:
            continue
        rebuilds += 1
        for i, reason in _isolate(sorted(suspects), items, process, finish, n_jobs, mp_context):
            if on_killed is not None:
                on_killed(i, reason)
            finish(i, killed_row(i, reason))
        if rebuilds >= MAX_POOL_REBUILDS and queue:
            msg = (f"not run: worker processes died {rebuilds} times in this run "
                   "(out of memory? see the files that killed a worker)")
            for i in reversed(queue):
                finish(i, killed_row(i, msg))
            queue.clear()


def _isolate(suspects: list[int], items, process, finish, n_jobs: int, mp_context) -> list[tuple[int, str]]:
    """Run each suspect alone in its own one-worker pool; return the culprits with their reason."""
    culprits: list[tuple[int, str]] = []
    for start in range(0, len(suspects), n_jobs):
        batch = suspects[start:start + n_jobs]
        pools = [ProcessPoolExecutor(max_workers=1, mp_context=mp_context) for _ in batch]
        try:
            futs = {pool.submit(process, items[i]): i for pool, i in zip(pools, batch)}
            for fut in list(futs):
                i = futs[fut]
                try:
                    row = fut.result()
                except BrokenProcessPool:
                    code = _exitcode(pools[batch.index(i)])
                    culprits.append((i, "the worker process died while correcting this file"
                                        + (f" (exit code {code})" if code is not None else "")))
                    continue
                finish(i, row)
        finally:
            for pool in pools:
                pool.shutdown(wait=True, cancel_futures=True)
    return culprits


def _exitcode(pool: ProcessPoolExecutor) -> int | None:
    procs = getattr(pool, "_processes", None) or {}
    for p in list(procs.values()):
        try:
            if p.exitcode not in (None, 0):
                return p.exitcode
        except (AttributeError, ValueError):  # pragma: no cover - process object already closed
            pass
    return None
