"""Micro-batching: requests that arrive together run in one model call, one call at a time.

Each request is a job (its texts, the call it wants and that call's option). A single worker takes the oldest job,
waits up to ``max_wait_ms`` for others to join while fewer than ``batch_size`` texts of the same call are queued,
then runs the queued jobs of that call (oldest first, up to ``batch_size`` texts, at least one whole job) as one
model call in a worker thread, and hands each job its slice of the results. Results do not depend on which requests
share a batch, except for float rounding of the padding (scores and embeddings may differ in the last digits).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any


class Busy(Exception):
    """The queue holds as many texts as it may; the request is refused (HTTP 503)."""


@dataclass
class _Job:
    call: str
    option: bool
    texts: list[str]
    future: asyncio.Future = field(repr=False)


class MicroBatcher:
    """Queue jobs and run them batched through ``run(call, option, texts) -> results`` (one result per text).

    Args:
        run: The model call; runs in one worker thread, so calls never overlap.
        batch_size: Most texts per call (a single larger job runs whole).
        max_wait_ms: How long the oldest job waits for others.
        max_queue_texts: Most texts queued; :meth:`submit` raises :class:`Busy` beyond.
    """

    def __init__(
        self, run: Callable[[str, bool, list[str]], list[Any]], batch_size: int, max_wait_ms: float,
        max_queue_texts: int,
    ) -> None:  # fmt: skip
        self.run, self.batch_size, self.max_wait = run, batch_size, max_wait_ms / 1000
        self.max_queue_texts = max_queue_texts
        self.pending: deque[_Job] = deque()
        self.queued_texts = 0
        self.calls = 0
        self._wakeup = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stmtl-model")
        self._worker: asyncio.Task | None = None

    def start(self) -> None:
        """Start the worker on the running event loop."""
        self._worker = asyncio.get_running_loop().create_task(self._work())

    async def stop(self) -> None:
        """Stop the worker; queued jobs are cancelled."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        for job in self.pending:
            job.future.cancel()
        self._executor.shutdown(wait=True)

    async def submit(self, call: str, option: bool, texts: list[str]) -> list[Any]:
        """Queue a job and wait for its results.

        Raises:
            Busy: If the queue is full.
        """
        if not texts:
            return []
        if self.queued_texts + len(texts) > self.max_queue_texts:
            raise Busy(f"the service is saturated ({self.queued_texts} texts queued); retry later")
        job = _Job(call, option, texts, asyncio.get_running_loop().create_future())
        self.pending.append(job)
        self.queued_texts += len(texts)
        self._wakeup.set()
        return await job.future

    def _queued(self, call: str, option: bool) -> int:
        return sum(len(job.texts) for job in self.pending if (job.call, job.option) == (call, option))

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self.pending:
                first = self.pending[0]
                deadline = loop.time() + self.max_wait
                while self._queued(first.call, first.option) < self.batch_size:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    self._wakeup.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wakeup.wait(), remaining)
                batch = self._take(first.call, first.option)
                if batch:
                    await self._run(batch)

    def _take(self, call: str, option: bool) -> list[_Job]:
        """Remove and return the oldest jobs of one call, up to ``batch_size`` texts (at least one job)."""
        batch, size, kept = [], 0, deque()
        while self.pending:
            job = self.pending.popleft()
            if job.future.done():  # the client went away
                self.queued_texts -= len(job.texts)
            elif (job.call, job.option) == (call, option) and (not batch or size + len(job.texts) <= self.batch_size):
                batch.append(job)
                size += len(job.texts)
            else:
                kept.append(job)
        self.pending = kept
        return batch

    async def _run(self, batch: list[_Job]) -> None:
        texts = [text for job in batch for text in job.texts]
        try:
            results = await asyncio.get_running_loop().run_in_executor(
                self._executor, self.run, batch[0].call, batch[0].option, texts
            )
        except Exception as error:  # the model failed: every job of the batch gets the error
            for job in batch:
                if not job.future.done():
                    job.future.set_exception(error)
        else:
            start = 0
            for job in batch:
                if not job.future.done():
                    job.future.set_result(results[start : start + len(job.texts)])
                start += len(job.texts)
        finally:
            self.calls += 1
            self.queued_texts -= len(texts)
