"""Scale: time to the first step, step time, peak memory and tokenization speed as the corpus grows.

Builds corpora of 13k, 100k, 400k and 1M rows by repeating SNIPS train (SNIPS dev and test kept), in a temporary
folder, and trains ``--steps`` steps with the CLI defaults on each (the encoder fully fine-tuned unless ``--encoder``
says ``adapter`` or ``default``), every run in a fresh process. Each corpus runs
twice against its own empty datasets cache: *cold* (read, check and tokenize everything) and *warm* (the identical
command again, reading the cached Arrow files). A run reports:

- time to the first optimizer step, from process start (imports, model load, reading, tokenization, planning);
- the median time of steps 11 to ``--steps`` (the loop itself);
- the peak resident memory of the training process (``ru_maxrss``; tokenization workers, used from 50k rows,
  are separate processes and are reported apart), and its peak *anonymous* memory (``RssAnon``, sampled every
  50 ms): resident memory also counts the pages of memory-mapped Arrow files the process has read, which are
  page cache the kernel can drop, while anonymous memory is what the process itself holds;
- tokenization rows/s of the training set (cold runs; a warm run reads the cache);
- the anonymous memory when the first step starts (data, model and optimizer, before any activations) and the
  longest batch (pieces) of the run: the activations of one batch grow with its length, so a run whose steps
  happen to include SNIPS's longest sentences peaks higher whatever the corpus size.

Usage:
    python examples/benchmarks/bench_scale.py --data data/snips [--sizes 13084,100000,400000,1000000]
        [--steps 50] [--encoder full|adapter|default] [--json]

JSON (last line with ``--json``): one record per run, and the goals' ratios (among them how many seconds later the
first step comes, cold, on the largest corpus than on the smallest).
"""

from __future__ import annotations

import time

START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from itertools import cycle, islice  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

FILES = ("seq.in", "seq.out", "label")


def build_corpus(snips: Path, rows: int, folder: Path) -> None:
    """SNIPS train repeated (and cut) to ``rows`` lines; dev and test copied."""
    for split in ("dev", "test"):
        shutil.copytree(snips / split, folder / split)
    (folder / "train").mkdir(parents=True)
    for name in FILES:
        lines = (snips / "train" / name).read_text(encoding="utf-8").splitlines(keepends=True)
        with open(folder / "train" / name, "w", encoding="utf-8") as handle:
            handle.writelines(islice(cycle(lines), rows))


def anonymous_now() -> float:
    """This process's anonymous resident memory (``RssAnon``), MB."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("RssAnon:"))
    return int(line.split()[1]) / 1024


def anonymous_memory_peak() -> dict[str, float]:
    """Track this process's peak ``RssAnon`` (MB) from a daemon thread; read ``["mb"]`` at the end."""
    import threading

    peak = {"mb": 0.0}

    def sample() -> None:
        while True:
            peak["mb"] = max(peak["mb"], anonymous_now())
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    return peak


def worker(corpus: str, output: str, steps: int, encoder: str) -> dict[str, Any]:
    """One training run in this process, timed (called in a fresh process by :func:`main`)."""
    anonymous = anonymous_memory_peak()
    import stmtl.training.run as run_module
    from stmtl.cli import snips_config
    from stmtl.training.trainer import MultiTaskTrainer

    step_times: list[float] = []
    first_step_anonymous: list[float] = []
    longest: list[int] = []
    tokenize: dict[str, float] = {}
    original_step, original_encode = MultiTaskTrainer.training_step, run_module.encode_dataset

    def timed_step(self, stream, rows):  # noqa: ANN001, ANN202
        if not step_times:  # what the process holds before the first batch's activations: data, model, optimizer
            first_step_anonymous.append(anonymous_now())
        result = original_step(self, stream, rows)
        step_times.append(time.perf_counter())
        longest.append(max(rows["length"]))
        return result

    def timed_encode(dataset, tokenizer, max_length, heads, description):  # noqa: ANN001, ANN202
        start = time.perf_counter()
        encoded = original_encode(dataset, tokenizer, max_length, heads, description)
        if description.startswith("train"):
            tokenize.update(rows=len(dataset), seconds=time.perf_counter() - start)
        return encoded

    MultiTaskTrainer.training_step = timed_step
    run_module.encode_dataset = timed_encode
    overrides = {"max_steps": steps, "encoder": None if encoder == "default" else encoder}
    run_module.train(snips_config(corpus, output, overrides))
    gaps = [b - a for a, b in zip(step_times, step_times[1:])][9:]  # steps 11..N
    return {
        "first_step_s": round(step_times[0] - START, 2),
        "median_step_s": round(statistics.median(gaps), 4),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_anonymous_mb": round(anonymous["mb"], 1),
        "first_step_anonymous_mb": round(first_step_anonymous[0], 1),
        "longest_batch": max(longest),
        "workers_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "tokenize_rows_per_s": round(tokenize["rows"] / tokenize["seconds"]) if tokenize else None,
    }


def run_once(corpus: Path, cache: Path, steps: int, encoder: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as output:
        env = {**os.environ, "HF_DATASETS_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
        command = [sys.executable, __file__, "--worker", str(corpus), "--output", output, "--steps", str(steps),
                   "--encoder", encoder]  # fmt: skip
        done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"run on {corpus} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="SNIPS folder (train/dev/test with seq.in, seq.out, label)")
    parser.add_argument("--sizes", default="13084,100000,400000,1000000", help="training rows, comma-separated")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--encoder", choices=["full", "adapter", "default"], default="full",
                        help="how the encoder trains; 'default' leaves it to the CLI default")  # fmt: skip
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.output, args.steps, args.encoder)))
        return
    if not args.data:
        parser.error("--data is required")

    records = []
    with tempfile.TemporaryDirectory() as scratch:
        for rows in (int(size) for size in args.sizes.split(",")):
            corpus, cache = Path(scratch) / f"corpus-{rows}", Path(scratch) / f"cache-{rows}"
            build_corpus(Path(args.data), rows, corpus)
            cold, warm = (run_once(corpus, cache, args.steps, args.encoder) for _ in range(2))
            records.append({"rows": rows, "cold": cold, "warm": warm})
            shutil.rmtree(corpus), shutil.rmtree(cache)

    print(
        f"{'rows':>9} | first step cold / warm (s) | median step (s) | peak RSS / anon (MB) | anon at step 1 | "
        "longest batch | workers | rows/s"
    )
    for record in records:
        cold, warm = record["cold"], record["warm"]
        rss = max(cold["peak_rss_mb"], warm["peak_rss_mb"])
        anonymous = max(cold["peak_anonymous_mb"], warm["peak_anonymous_mb"])
        print(
            f"{record['rows']:>9} | {cold['first_step_s']:>13.1f} / {warm['first_step_s']:<10.1f} | "
            f"{warm['median_step_s']:>15.3f} | {rss:>9.0f} / {anonymous:<8.0f} | "
            f"{warm['first_step_anonymous_mb']:>14.0f} | "
            f"{warm['longest_batch']:>13} | {cold['workers_peak_rss_mb']:>7.0f} | {cold['tokenize_rows_per_s']:>6,}"
        )
    small, large = records[0], records[-1]
    ratios = {
        "first_step_cold_large_minus_small_s": round(large["cold"]["first_step_s"] - small["cold"]["first_step_s"], 1),
        "step_time_large_vs_small": round(large["warm"]["median_step_s"] / small["warm"]["median_step_s"], 3),
        "rss_large_vs_small": round(
            max(large["cold"]["peak_rss_mb"], large["warm"]["peak_rss_mb"])
            / max(small["cold"]["peak_rss_mb"], small["warm"]["peak_rss_mb"]),
            3,
        ),
        "anonymous_large_vs_small": round(
            max(large["cold"]["peak_anonymous_mb"], large["warm"]["peak_anonymous_mb"])
            / max(small["cold"]["peak_anonymous_mb"], small["warm"]["peak_anonymous_mb"]),
            3,
        ),
    }
    print(json.dumps(ratios))
    if args.json:
        print(json.dumps({"runs": records, **ratios}))


if __name__ == "__main__":
    main()
