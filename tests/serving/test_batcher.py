from __future__ import annotations

import asyncio

import pytest

from stmtl.serving.batcher import Busy, MicroBatcher


def _run(coroutine):
    return asyncio.run(coroutine)


def test_concurrent_jobs_share_one_call_and_get_their_own_results() -> None:
    calls: list[tuple[str, bool, list[str]]] = []

    def run(call: str, option: bool, texts: list[str]) -> list[str]:
        calls.append((call, option, list(texts)))
        return [f"{call}:{text}" for text in texts]

    async def scenario():
        batcher = MicroBatcher(run, batch_size=8, max_wait_ms=50, max_queue_texts=100)
        batcher.start()
        jobs = [batcher.submit("predict", False, [f"t{i}", f"u{i}"]) for i in range(3)]
        jobs.append(batcher.submit("encode", False, ["e"]))
        results = await asyncio.gather(*jobs)
        await batcher.stop()
        return results

    results = _run(scenario())
    assert results[:3] == [[f"predict:t{i}", f"predict:u{i}"] for i in range(3)] and results[3] == ["encode:e"]
    assert calls[0] == ("predict", False, ["t0", "u0", "t1", "u1", "t2", "u2"]) and calls[1][0] == "encode"


def test_batches_hold_at_most_batch_size_texts_but_a_large_job_runs_whole() -> None:
    sizes: list[int] = []

    def run(call, option, texts):
        sizes.append(len(texts))
        return texts

    async def scenario():
        batcher = MicroBatcher(run, batch_size=4, max_wait_ms=20, max_queue_texts=100)
        batcher.start()
        await asyncio.gather(*(batcher.submit("predict", False, ["a", "b", "c"]) for _ in range(3)),
                             batcher.submit("predict", False, list("abcdefghij")))  # fmt: skip
        await batcher.stop()

    _run(scenario())
    assert sorted(sizes) == [3, 3, 3, 10]


def test_a_full_queue_refuses_and_errors_reach_every_job_of_the_batch() -> None:
    def run(call, option, texts):
        raise RuntimeError("model failed")

    async def scenario():
        batcher = MicroBatcher(run, batch_size=4, max_wait_ms=20, max_queue_texts=3)
        batcher.start()
        with pytest.raises(Busy, match="saturated"):
            await batcher.submit("predict", False, ["a", "b", "c", "d"])
        outcomes = await asyncio.gather(batcher.submit("predict", False, ["a"]),
                                        batcher.submit("predict", False, ["b"]), return_exceptions=True)  # fmt: skip
        assert batcher.queued_texts == 0
        await batcher.stop()
        return outcomes

    assert [str(outcome) for outcome in _run(scenario())] == ["model failed", "model failed"]


def test_a_cancelled_job_is_dropped() -> None:
    seen: list[list[str]] = []

    def run(call, option, texts):
        seen.append(list(texts))
        return texts

    async def scenario():
        batcher = MicroBatcher(run, batch_size=8, max_wait_ms=30, max_queue_texts=100)
        batcher.start()
        gone = asyncio.ensure_future(batcher.submit("predict", False, ["gone"]))
        await asyncio.sleep(0)
        gone.cancel()
        kept = await batcher.submit("predict", False, ["kept"])
        await batcher.stop()
        return kept, batcher.queued_texts

    assert _run(scenario()) == (["kept"], 0) and seen == [["kept"]]
