"""Inference benchmark: multi-task ``predict`` vs plain ``encode`` vs one single-task model per head; peak RSS.

Measures sentences/s, for each batch size, of
  (a) ``encode``: plain ``SentenceTransformer.encode`` of the backbone (a separate model, loaded from
      ``stmtl.default_backbone()`` or, with ``--model``, made of a copy of that model's encoder modules);
  (b) ``predict``: stmtl ``predict`` with every head and ``output_embedding=True`` (embedding + labels + entities);
  (c) ``two_models``: one single-task model per head (each with its own encoder copy and ONE head: intent-only,
      then slots-only), their ``predict`` calls back to back on the same texts.
Each method gets one warm-up call, then ``--repeats`` rounds time a, b, c in alternating order (a b c, c b a, ...)
with ``time.perf_counter()``; medians are reported. Without ``--model`` the heads are untrained (7 intents, 72
IOB2 slot tags): throughput does not depend on weight values. A child process then streams a generator of
``--rss-sentences`` texts through ``iter_predict`` (batch size: the first of ``--batch-sizes``) and samples its RSS.

With ``--onnx`` the model's exported graphs join the same alternating rounds (``onnx``: fp32, ``onnx_int8``: int8;
``predict`` with every head and ``output_embedding=True``, as (b)); ``--model`` must then hold an int8 export
(``stmtl export --model M --quantize int8``), or without ``--model`` the untrained model is exported to a temporary
folder. Then the batch-1 latency of ``predict([text])`` for PyTorch, fp32 and int8, alternating per text over
``--latency-texts`` texts after warm-up (median, p95), and with ``--accuracy`` (needs ``--data``, a trained
``--model``) each backend's SNIPS dev and test scores from ``predict`` and, with ``--sts``, the STS-B Spearman of its
``encode`` (:mod:`inference_accuracy`). ``--methods`` limits which of (a)-(c) run. The load average is printed at
the start and the end: figures taken on a loaded machine are provisional.

Usage:
    HF_HUB_OFFLINE=1 python examples/benchmarks/bench_inference.py [--data data/snips] [--model DIR]
        [--sentences 2048] [--batch-sizes 32 128] [--repeats 5] [--rss-sentences 100000]
        [--device cpu|cuda] [--dtype float32|bfloat16] [--methods encode predict two_models predict_unsorted]
        [--onnx [--latency-texts 200] [--accuracy [--sts data/stsb/dev.tsv]]] [--json]

JSON (with ``--json``, one object on the last line):
    device, dtype, torch_threads, onnx_threads, sentences, repeats, batch_sizes: the settings of the run.
    predict_vs_encode: speed(predict) / speed(encode) at batch size 32 (else the first batch size); goal >= 0.95.
    predict_vs_two_models: speed(predict) / speed(two_models) at the same batch size; goal >= 1.8 (null where
        a method did not run).
    ratio_batch_size: the batch size those two ratios come from.
    by_batch_size: {"32": {"encode"|"predict"|"two_models": {"median_s", "sentences_per_s", "times_s"},
        "predict_vs_encode", "predict_vs_two_models"}, ...}.
    rss: {"sentences", "batch_size", "rss_mb_at_10pct", "rss_mb_at_50pct", "rss_mb_at_100pct", "peak_rss_mb",
        "rss_flat"} or null with --rss-sentences 0; rss_flat: RSS(100 %) - RSS(10 %) < 100 MB.
    onnx (with --onnx): {"onnx_vs_predict", "onnx_int8_vs_predict" (throughput ratios at the ratio batch size),
        "latency": {"predict"|"onnx"|"onnx-int8": {"median_ms", "p95_ms", "calls"}}, "latency_ratio_int8"
        (PyTorch median / int8 median), "accuracy": {model: {"dev"|"test": {"intent_accuracy", "slot_f1",
        "exact_match"}, "sts_spearman"}} or null}.
    load_average: the 1-minute load average at the start and at the end.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import copy
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from sentence_transformers import SentenceTransformer

import stmtl
from stmtl.heads import SentenceClassificationHead, TaskHead, TokenClassificationHead
from stmtl.model import MultiTaskSentenceTransformer

INTENTS = [
    "AddToPlaylist",
    "BookRestaurant",
    "GetWeather",
    "PlayMusic",
    "RateBook",
    "SearchCreativeWork",
    "SearchScreeningEvent",
]
SLOT_TYPES = [f"slot{i:02d}" for i in range(39)]  # made-up names; SNIPS-sized: 39 types, 72 IOB2 tags
SLOT_TAGS = ["O", *(f"B-{t}" for t in SLOT_TYPES), *(f"I-{t}" for t in SLOT_TYPES[:32])]
SENTENCES = [  # made-up assistant requests of varied length
    "play some jazz",
    "what's the weather like today",
    "set an alarm for 7 am",
    "book a table for two at an italian place tonight",
    "add this song to my workout playlist",
    "will it rain in lisbon this weekend",
    "rate this book four out of five stars",
    "find the movie schedule for the nearest cinema",
    "play the latest album by taylor swift on spotify",
    "turn the volume down",
    "how cold will it be in oslo on friday morning",
    "reserve a restaurant for four people near the train station at 8 pm on saturday",
    "show me the trailer for the new star wars film",
    "i'd like to hear something relaxing while i cook dinner",
    "what time does the pharmacy close",
    "add adele's hello to my sunday morning chill playlist please",
    "give the hunger games a rating of three points",
    "is there a chance of snow in the mountains next tuesday afternoon",
    "find a sushi bar that is open late and takes reservations for a party of six",
    "play the podcast i was listening to yesterday from where i stopped",
    "search for the tv series called the office",
    "what's playing at the amc theater in downtown chicago tonight",
    "remind me to call mom when i get home",
    "book a spot at a steakhouse in brooklyn for my anniversary next friday evening",
    "stop",
    "what will the temperature be in tokyo at noon",
    "put on some classical music for studying",
    "i want to rate the novel i just finished five stars because it was wonderful",
    "how windy is it going to be on the coast tomorrow",
    "find me a video game called the legend of zelda breath of the wild",
    "add the beatles to my road trip mix",
    "can you find showtimes for animated movies this afternoon in my area",
    "play top hits from the nineties",
    "book a table at a vegan restaurant in san francisco for 3 people at half past seven",
    "what's the forecast for the next ten days in paris",
    "skip this track",
    "look up the painting the starry night",
    "please add this artist to my favourites playlist and play the first song",
    "is it going to be sunny at the beach on sunday",
    "rate the current essay collection two out of six",
    "i need a restaurant with outdoor seating for a birthday party of twelve on the fourth of july",
    "find the soundtrack of the lion king",
    "what's the humidity right now",
    "play something by miles davis from the fifties on my kitchen speaker",
    "schedule a reminder for the dentist appointment on monday at nine thirty in the morning",
    "which cinemas near me are showing the documentary about climate change this week",
    "shuffle my liked songs",
    "give me the weather in reykjavik",
    "book a cheap table for one at the closest noodle bar in fifteen minutes",
    "play the audiobook of pride and prejudice starting at chapter three",
]
METHODS = ("encode", "predict", "two_models", "predict_unsorted")
ONNX_METHODS = {"onnx": "onnx", "onnx_int8": "onnx-int8"}


def load_texts(data: str | None) -> list[str]:
    """SNIPS-style ``DATA/test/seq.in`` (one sentence per line), or the made-up sentences above."""
    if data is None:
        return SENTENCES
    lines = (Path(data) / "test" / "seq.in").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip()]


def load_models(
    args: argparse.Namespace,
) -> tuple[SentenceTransformer, MultiTaskSentenceTransformer, list[MultiTaskSentenceTransformer]]:
    """The plain encoder (a), the multi-task model (b) and one single-task model per head (c), cast to dtype."""
    if args.model:
        multi = stmtl.load(args.model, device=args.device)
    else:
        heads = [
            SentenceClassificationHead("intent", INTENTS, in_features=384),
            TokenClassificationHead("slots", SLOT_TAGS, in_features=384),
        ]
        multi = stmtl.build(heads, device=args.device)
    encoder = [module for module in multi if not isinstance(module, TaskHead)]
    if args.model:
        plain = SentenceTransformer(modules=copy.deepcopy(encoder), device=args.device)
    else:
        plain = SentenceTransformer(stmtl.default_backbone(), device=args.device)
    singles = [
        MultiTaskSentenceTransformer(modules=[*copy.deepcopy(encoder), copy.deepcopy(head)], device=args.device)
        for head in multi.heads.values()
    ]
    dtype = getattr(torch, args.dtype)
    for model in (plain, multi, *singles):
        model.to(dtype).eval()
    return plain, multi, singles


def rss_mb() -> float:
    """Current resident set size in MB (VmRSS), or the peak where /proc is unavailable."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mb()


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024


def rss_child(args: argparse.Namespace) -> None:
    """Child process: stream a generator through ``iter_predict``, print the RSS samples as one JSON line."""
    _, multi, _ = load_models(args)
    base, total, batch_size = load_texts(args.data), args.rss_sentences, args.batch_sizes[0]
    texts: Iterator[str] = (base[i % len(base)] for i in range(total))
    marks = {max(1, total // 10): "rss_mb_at_10pct", max(1, total // 2): "rss_mb_at_50pct", total: "rss_mb_at_100pct"}
    report: dict[str, Any] = {"sentences": total, "batch_size": batch_size}
    for count, _ in enumerate(multi.iter_predict(texts, batch_size, False, output_embedding=True), start=1):
        if count in marks:
            report[marks[count]] = round(rss_mb(), 1)
    report["peak_rss_mb"] = round(peak_rss_mb(), 1)
    report["rss_flat"] = report["rss_mb_at_100pct"] - report["rss_mb_at_10pct"] < 100
    print(json.dumps(report))


def timed(call: Callable[[], Any], device: str) -> float:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    call()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def unsorted_predict(model: Any, texts: list[str], batch_size: int) -> Any:
    """``predict`` with length sorting off (each batch in input order), to measure what sorting gains."""
    from stmtl.decoding import windows

    saved = windows.SORT_WINDOW_BATCHES
    windows.SORT_WINDOW_BATCHES = 1  # a window of one batch: nothing to sort across batches
    try:
        return model.predict(texts, batch_size, show_progress_bar=False, output_embedding=True)
    finally:
        windows.SORT_WINDOW_BATCHES = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="SNIPS-style folder; reads DATA/test/seq.in (default: made-up sentences)")
    parser.add_argument("--model", help="a trained stmtl model folder (default: untrained intent + slots heads)")
    parser.add_argument("--sentences", type=int, default=2048, help="texts per timed call (data repeated)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rss-sentences", type=int, default=100_000, help="texts streamed in the RSS child; 0 skips")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    parser.add_argument("--threads", type=int, help="torch and ONNX Runtime threads (default: their own, per core)")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS), help="which of a-c run")
    parser.add_argument("--onnx", action="store_true", help="add the exported fp32 and int8 graphs (see above)")
    parser.add_argument("--latency-texts", type=int, default=200, help="texts timed one by one for latency")
    parser.add_argument("--accuracy", action="store_true", help="SNIPS dev/test scores of each backend (--onnx)")
    parser.add_argument("--sts", help="STS TSV (e.g. STS-B dev) for the embeddings' Spearman with --accuracy")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument("--_rss-child", dest="rss_child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args)
        return

    # 1. Texts and models; thread counts are left at their defaults (one per core) unless --threads sets both.
    load_start = os.getloadavg()[0]
    if args.threads:
        torch.set_num_threads(args.threads)
    base = load_texts(args.data)
    texts = [base[i % len(base)] for i in range(args.sentences)]
    plain, multi, singles = load_models(args)
    methods = [method for method in METHODS if method in args.methods or method == "predict"]
    onnx = {}
    if args.onnx:
        from onnx_rows import onnx_models

        onnx = onnx_models(args.model, multi, args.threads)
        methods += list(ONNX_METHODS)
    print(
        f"device {args.device}, dtype {args.dtype}, torch threads {torch.get_num_threads()}, ONNX Runtime threads "
        f"{args.threads or 'default'}, "
        f"{len(texts)} texts ({len(base)} distinct), heads {list(multi.heads)}, repeats {args.repeats}, "
        f"load average {load_start:.2f}"
    )

    # 2. Per batch size: one warm-up call of each method, then rounds in alternating order.
    by_batch_size: dict[str, dict[str, Any]] = {}
    for batch_size in args.batch_sizes:
        calls: dict[str, Callable[[list[str]], Any]] = {
            "encode": lambda xs, b=batch_size: plain.encode(xs, batch_size=b, show_progress_bar=False),
            "predict": lambda xs, b=batch_size: multi.predict(xs, b, show_progress_bar=False, output_embedding=True),
            "two_models": lambda xs, b=batch_size: [m.predict(xs, b, show_progress_bar=False) for m in singles],
            "predict_unsorted": lambda xs, b=batch_size: unsorted_predict(multi, xs, b),
        }
        for method, backend in ONNX_METHODS.items() if onnx else ():
            calls[method] = lambda xs, b=batch_size, m=onnx[backend]: m.predict(xs, b, show_progress_bar=False,
                                                                               output_embedding=True)  # fmt: skip
        calls = {method: calls[method] for method in methods}
        warmup = texts[: 2 * batch_size]
        for call in calls.values():
            call(warmup)
        times: dict[str, list[float]] = {method: [] for method in methods}
        for round_index in range(args.repeats):
            for method in methods if round_index % 2 == 0 else methods[::-1]:
                times[method].append(timed(lambda m=method: calls[m](texts), args.device))
        figures: dict[str, Any] = {}
        for method in methods:
            median = statistics.median(times[method])
            figures[method] = {
                "median_s": round(median, 4),
                "sentences_per_s": round(len(texts) / median, 1),
                "times_s": [round(t, 4) for t in times[method]],
            }
        speed = {method: figures[method]["sentences_per_s"] for method in methods}
        for key, numerator, denominator in (
            ("predict_vs_encode", "predict", "encode"), ("predict_vs_two_models", "predict", "two_models"),
            ("length_sorting_gain", "predict", "predict_unsorted"), ("onnx_vs_predict", "onnx", "predict"),
            ("onnx_int8_vs_predict", "onnx_int8", "predict"),
        ):  # fmt: skip
            both = numerator in speed and denominator in speed
            figures[key] = round(speed[numerator] / speed[denominator], 3) if both else None
        by_batch_size[str(batch_size)] = figures

    # 3. Table: method x batch size; "vs predict" is the speed relative to PyTorch predict at that batch size.
    print(f"\n{'method':<16} {'batch':>6} {'median s':>10} {'sentences/s':>12} {'vs predict':>11}")
    for batch_size, figures in by_batch_size.items():
        for method in methods:
            row = figures[method]
            ratio = row["sentences_per_s"] / figures["predict"]["sentences_per_s"]
            print(
                f"{method:<16} {batch_size:>6} {row['median_s']:>10.3f} {row['sentences_per_s']:>12.1f} {ratio:>11.3f}"
            )
        goals = {"predict_vs_encode": ">= 0.95", "predict_vs_two_models": ">= 1.8", "onnx_vs_predict": ">= 1.2",
                 "onnx_int8_vs_predict": ">= 2.0"}  # fmt: skip
        shown = [f"{key} {figures[key]:.3f} (goal {goal})" for key, goal in goals.items() if figures[key] is not None]
        print(f"{'':<16} {batch_size:>6} " + ", ".join(shown))

    # 4. Peak RSS in a child process (its own memory only), streaming a generator through iter_predict.
    rss = None
    if args.rss_sentences > 0:
        child_args = [arg for arg in sys.argv[1:] if arg != "--json"]
        done = subprocess.run(
            [sys.executable, __file__, *child_args, "--_rss-child"], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            sys.exit(f"RSS child failed ({done.returncode}):\n{done.stderr[-3000:]}")
        rss = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"\nRSS over {rss['sentences']} texts (batch {rss['batch_size']}): "
            f"{rss['rss_mb_at_10pct']:.0f} MB at 10 %, {rss['rss_mb_at_50pct']:.0f} MB at 50 %, "
            f"{rss['rss_mb_at_100pct']:.0f} MB at 100 %, "
            f"peak {rss['peak_rss_mb']:.0f} MB; flat (< 100 MB growth): {rss['rss_flat']}"
        )

    # 5. ONNX: batch-1 latency (PyTorch, fp32, int8 alternating per text) and, with --accuracy, each one's scores.
    key = "32" if "32" in by_batch_size else str(args.batch_sizes[0])
    onnx_figures = None
    if onnx:
        from onnx_rows import accuracy, batch_one_latency, print_rows

        latency = batch_one_latency({"predict": multi, **onnx}, (base * args.latency_texts)[: args.latency_texts])
        scores = None
        if args.accuracy:
            if not args.data:
                sys.exit("--accuracy needs --data (a SNIPS-style folder with dev and test)")
            scores = accuracy({"predict": multi, **onnx}, args.data, args.sts)
        print_rows(latency, scores)
        onnx_figures = {
            "onnx_vs_predict": by_batch_size[key]["onnx_vs_predict"],
            "onnx_int8_vs_predict": by_batch_size[key]["onnx_int8_vs_predict"],
            "latency": latency,
            "latency_ratio_int8": round(latency["predict"]["median_ms"] / latency["onnx-int8"]["median_ms"], 3),
            "accuracy": scores,
        }
    load_end = os.getloadavg()[0]
    print(f"\nload average (1 min): {load_start:.2f} at the start, {load_end:.2f} at the end")

    # 6. One JSON object as the very last line.
    if args.json:
        print(
            json.dumps(
                {
                    "device": args.device,
                    "dtype": args.dtype,
                    "torch_threads": torch.get_num_threads(),
                    "onnx_threads": args.threads,
                    "sentences": len(texts),
                    "repeats": args.repeats,
                    "batch_sizes": args.batch_sizes,
                    "predict_vs_encode": by_batch_size[key]["predict_vs_encode"],
                    "predict_vs_two_models": by_batch_size[key]["predict_vs_two_models"],
                    "length_sorting_gain": by_batch_size[key]["length_sorting_gain"],
                    "ratio_batch_size": int(key),
                    "by_batch_size": by_batch_size,
                    "rss": rss,
                    "onnx": onnx_figures,
                    "load_average": [round(load_start, 2), round(load_end, 2)],
                }
            )
        )


if __name__ == "__main__":
    main()
