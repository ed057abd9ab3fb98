"""Load test of ``stmtl serve`` on this machine's loopback address: requests/s and p50/p99 latency at several numbers
of concurrent clients, for each backend, with every concurrent answer checked against the serial one and every bad
request checked for a 4xx with a one-line reason.

For each backend the script starts ``python -m stmtl serve --host 127.0.0.1`` on a free port, waits for ``/health``,
asks every distinct request once, serially (the reference answers), then, per level of concurrency, sends
``--requests`` requests from that many client threads (one keep-alive connection each) and stops the level after
``--time-limit`` seconds whatever is left. An answer "equals" the serial one when keys, labels, entity spans and
texts are identical and scores differ by at most 1e-4 (requests batched together pad differently, which moves
floats in their last digits). Then a fixed list of bad requests, and the server is stopped (SIGTERM, then SIGKILL).
The target is always 127.0.0.1; the number of requests and the time are bounded, and the script stops by itself.

Usage:
    HF_HUB_OFFLINE=1 python examples/benchmarks/load_test_serve.py --model DIR [--backends torch onnx-int8]
        [--concurrency 1 8 32] [--requests 256] [--texts-per-request 1] [--data data/snips] [--time-limit 120]
        [--json]

``DIR`` must hold an export for the ONNX backends (``stmtl export --model DIR --quantize int8``). Exit code 1 when
a concurrent answer differs from the serial one or a bad request gets anything but a 4xx with one line.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
"""The only address this script ever contacts."""
MAX_REQUESTS = 20_000
BAD_REQUESTS = [
    ("POST", "/predict", b"{not json", "application/json"),
    ("POST", "/predict", b'{"texts": "one text"}', "application/json"),
    ("POST", "/predict", b'{"texts": ["a", 3]}', "application/json"),
    ("POST", "/predict", b'{"texts": ["a"], "unknown": true}', "application/json"),
    ("POST", "/predict", b"[1, 2, 3]", "application/json"),
    ("POST", "/predict", b'{"texts": ["\\ud800"]}', "application/json"),
    ("POST", "/encode", b'{"texts": ["a"], "normalize": "yes"}', "application/json"),
    ("POST", "/predict", b"texts=a", "application/x-www-form-urlencoded"),
    ("POST", "/predict", json.dumps({"texts": ["a"] * 100_000}).encode(), "application/json"),
    ("POST", "/predict", json.dumps({"texts": ["word " * 5000]}).encode(), "application/json"),
    ("POST", "/predict", json.dumps({"texts": ["a"] * 1000}).encode(), "application/json"),
    ("GET", "/nowhere", None, None),
    ("PUT", "/predict", None, None),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Client:
    """One keep-alive connection to the server."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection(HOST, port, timeout=120)

    def send(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None):
        headers = {"Content-Type": content_type} if content_type else {}
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            return response.status, response.read()
        except (ConnectionError, http.client.HTTPException):
            self.connection.close()  # the server closed it (e.g. after refusing a body): reconnect once
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            return response.status, response.read()

    def close(self) -> None:
        self.connection.close()


def start_server(model: str, backend: str, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "stmtl", "serve", "--model", model, "--backend", backend, "--host", HOST,
               "--port", str(port)]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"stmtl serve ({backend}) exited with {server.returncode}:\n{server.stdout.read()[-3000:]}")
        try:
            client = Client(port)
            if client.send("GET", "/health")[0] == 200:
                client.close()
                return server
        except OSError:
            time.sleep(0.5)
    stop_server(server)
    sys.exit(f"stmtl serve ({backend}) did not answer /health within 600 s")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(30)


def same(a: Any, b: Any, tolerance: float = 1e-4) -> bool:
    """Equal structure, strings and integers; floats within ``tolerance``."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[key], b[key], tolerance) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y, tolerance) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and abs(a - b) <= tolerance
    return a == b


def run_level(port: int, bodies: list[bytes], expected: list[Any], clients: int, requests: int, time_limit: float):
    """Send ``requests`` requests from ``clients`` threads; latencies, elapsed time and mismatches."""
    latencies: list[float] = []
    mismatches, errors, sent = [0], [0], [0]
    lock = threading.Lock()
    deadline = time.monotonic() + time_limit

    def worker() -> None:
        client = Client(port)
        while True:
            with lock:
                if sent[0] >= requests or time.monotonic() > deadline:
                    break
                index = sent[0] % len(bodies)
                sent[0] += 1
            start = time.perf_counter()
            status, payload = client.send("POST", "/predict", bodies[index], "application/json")
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                if status != 200:
                    errors[0] += 1
                elif not same(json.loads(payload), expected[index]):
                    mismatches[0] += 1
        client.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies)
    return {
        "clients": clients, "requests": len(latencies), "seconds": round(elapsed, 2),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(1000 * statistics.median(ordered), 1),
        "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 1),
        "mismatches": mismatches[0], "errors": errors[0],
    }  # fmt: skip


def check_bad_requests(port: int) -> list[dict[str, Any]]:
    """Each bad request's status and reason; ``ok`` when it is a 4xx with a one-line ``error``."""
    rows = []
    for method, path, body, content_type in BAD_REQUESTS:
        client = Client(port)
        status, payload = client.send(method, path, body, content_type)
        client.close()
        try:
            reason = json.loads(payload)["error"]
        except (ValueError, KeyError, TypeError):
            reason = None
        ok = 400 <= status < 500 and isinstance(reason, str) and "\n" not in reason
        rows.append(
            {"request": f"{method} {path} {(body or b'')[:40]!r}", "status": status, "reason": reason, "ok": ok}
        )
    return rows


def load_texts(data: str | None) -> list[str]:
    if data is None:
        return ["book a table for two in paris tonight", "play some jazz by miles davis", "will it rain tomorrow",
                "add this song to my running playlist", "rate this book five stars", "find the schedule"]  # fmt: skip
    return [line.strip() for line in (Path(data) / "test" / "seq.in").read_text().splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="saved stmtl model folder (with an int8 export for ONNX)")
    parser.add_argument("--backends", nargs="+", default=["torch", "onnx-int8"],
                        choices=["torch", "onnx", "onnx-int8"])  # fmt: skip
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=256, help=f"requests per level (at most {MAX_REQUESTS})")
    parser.add_argument("--texts-per-request", type=int, default=1)
    parser.add_argument("--data", help="SNIPS-style folder: texts from DATA/test/seq.in (default: a few made up)")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per level at most")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args()
    if not 1 <= args.requests <= MAX_REQUESTS or not all(1 <= c <= 256 for c in args.concurrency):
        sys.exit(f"--requests must be 1..{MAX_REQUESTS} and --concurrency values 1..256")
    texts = load_texts(args.data)
    size = args.texts_per_request
    groups = [texts[i : i + size] for i in range(0, min(len(texts), args.requests * size), size)]
    bodies = [json.dumps({"texts": group}).encode() for group in groups]
    print(f"load average (1 min) at the start: {os.getloadavg()[0]:.2f}; {len(bodies)} distinct requests of {size} "
          f"text(s); target http://{HOST} only")  # fmt: skip
    report: dict[str, Any] = {"levels": {}, "bad_requests": {}}
    failed = False
    for backend in args.backends:
        port = free_port()
        server = start_server(args.model, backend, port)
        try:
            client = Client(port)
            expected = [json.loads(client.send("POST", "/predict", body, "application/json")[1]) for body in bodies]
            client.close()
            rows = [run_level(port, bodies, expected, c, args.requests, args.time_limit) for c in args.concurrency]
            bad = check_bad_requests(port)
        finally:
            stop_server(server)
        report["levels"][backend], report["bad_requests"][backend] = rows, bad
        print(f"\n{backend}: {'clients':>7} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'mismatch':>8}")
        for row in rows:
            print(f"{'':<{len(backend) + 1}} {row['clients']:>8} {row['requests']:>8} {row['requests_per_s']:>8.1f} "
                  f"{row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} {row['mismatches']:>8}")  # fmt: skip
            failed |= bool(row["mismatches"] or row["errors"])
        refused = sum(row["ok"] for row in bad)
        print(f"{backend}: bad requests answered with a 4xx and one line: {refused}/{len(bad)}")
        for row in bad:
            print(f"    {row['status']} {row['request']}: {row['reason']}")
        failed |= refused != len(bad)
    report["load_average_end"] = round(os.getloadavg()[0], 2)
    verdict = "FAILED" if failed else "concurrent answers equal serial ones; every bad request got a 4xx"
    print(f"\nload average (1 min) at the end: {report['load_average_end']:.2f}; {verdict}")
    if args.json:
        print(json.dumps(report))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
