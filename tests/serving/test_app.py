"""The HTTP service, run by uvicorn on 127.0.0.1 in a thread of the test process."""

from __future__ import annotations

import http.client
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import stmtl
from stmtl.serving.app import create_app, load_model
from stmtl.serving.settings import ServeSettings
from tests.decoding.test_torch_parity import assert_same_predictions
from tests.helpers import TOY, TRICKY_TEXTS

SETTINGS = ServeSettings(port=0, max_texts=8, max_text_chars=200, max_body_bytes=4000, batch_size=16, max_wait_ms=30)
TEXTS = [*TRICKY_TEXTS, *(text for text, _, _ in TOY)]


def _start(app) -> tuple[object, threading.Thread, str]:
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"127.0.0.1:{port}"


@pytest.fixture(scope="module")
def service(exported_model):
    model = load_model(exported_model, "onnx")
    app = create_app(model, SETTINGS, "onnx")
    server, thread, address = _start(app)
    yield address, model, app.app.state.batcher
    server.should_exit = True
    thread.join(30)


def call(address: str, method: str, path: str, body=None, headers=None) -> tuple[int, dict]:
    connection = http.client.HTTPConnection(address, timeout=60)
    payload = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    connection.request(method, path, body=payload, headers={"Content-Type": "application/json", **(headers or {})})
    response = connection.getresponse()
    status, data = response.status, json.loads(response.read() or b"null")
    connection.close()
    return status, data


def test_health(service) -> None:
    address, _, _ = service
    assert call(address, "GET", "/health") == (
        200, {"status": "ok", "backend": "onnx", "tasks": ["intent", "ner", "topics"], "max_seq_length": 64}
    )  # fmt: skip


def test_predict_and_encode_answer_as_the_model(service) -> None:
    address, model, _ = service
    status, data = call(address, "POST", "/predict", {"texts": TEXTS[:8], "output_embedding": True})
    assert status == 200
    expected = model.predict(TEXTS[:8], output_embedding=True)
    for result, reference in zip(data["results"], expected):
        assert np.abs(np.array(result.pop("sentence_embedding")) - reference.pop("sentence_embedding")).max() < 1e-5
    assert_same_predictions(data["results"], expected, score_tolerance=1e-5)
    status, data = call(address, "POST", "/encode", {"texts": TEXTS[:3], "normalize": True})
    assert (
        status == 200
        and np.abs(np.array(data["embeddings"]) - model.encode(TEXTS[:3], normalize_embeddings=True)).max() < 1e-5
    )
    assert call(address, "POST", "/predict", {"texts": []}) == (200, {"results": []})


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "reason"),
    [
        ("POST", "/predict", b"{not json", None, 400, "body is not valid JSON"),
        ("POST", "/predict", {"texts": "one text"}, None, 422, "texts: Input should be a valid list"),
        ("POST", "/predict", {"texts": ["a", 3]}, None, 422, "texts[1]: Input should be a valid string"),
        ("POST", "/predict", {"texts": ["a"], "k": 1}, None, 422, "k: unknown field (allowed: texts, output_emb"),
        ("POST", "/encode", {"texts": ["a"], "normalize": "yes"}, None, 422, "normalize: Input should be a valid"),
        ("POST", "/predict", {}, None, 422, "texts: Field required"),
        ("POST", "/predict", [1, 2], None, 422, "body: must be a JSON object"),
        ("POST", "/predict", {"texts": ["a"] * 9}, None, 422, "texts: 9 texts, over the limit of 8 per request"),
        ("POST", "/predict", {"texts": ["a", "b" * 201]}, None, 422, "texts[1]: 201 characters, over the limit"),
        ("POST", "/predict", b'{"texts": ["\\ud800"]}', None, 422, "texts[0] is not valid Unicode"),
        ("POST", "/predict", {"texts": ["a" * 150] * 30}, None, 413, "request body over the limit of 4000 bytes"),
        ("POST", "/predict", b"texts=a", {"Content-Type": "text/plain"}, 415, "body must be JSON"),
        ("GET", "/nothing", None, None, 404, "no route GET /nothing"),
        ("GET", "/predict", None, None, 405, "/predict does not take GET"),
        ("DELETE", "/health", None, None, 405, "/health does not take DELETE"),
    ],
)  # fmt: skip
def test_every_bad_request_gets_a_4xx_with_one_line(service, method, path, body, headers, status, reason) -> None:
    address, _, _ = service
    got, data = call(address, method, path, body, headers)
    assert got == status and set(data) == {"error"}, data
    assert data["error"].startswith(reason) and "\n" not in data["error"], data


def test_chunked_body_over_the_limit_refused_without_content_length(service) -> None:
    address, _, _ = service
    connection = http.client.HTTPConnection(address, timeout=60)
    connection.putrequest("POST", "/predict")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    chunk = b'{"texts": ["' + b"a" * 3000
    for part in (chunk, b"b" * 3000, b'"]}'):
        connection.send(f"{len(part):x}\r\n".encode() + part + b"\r\n")
    connection.send(b"0\r\n\r\n")
    response = connection.getresponse()
    assert response.status == 413 and json.loads(response.read())["error"].startswith("request body over the limit")


def test_concurrent_answers_equal_serial_ones_and_share_model_calls(service) -> None:
    address, _, batcher = service
    requests = [TEXTS[i % len(TEXTS) : i % len(TEXTS) + 1 + i % 3] for i in range(48)]
    serial = [call(address, "POST", "/predict", {"texts": texts}) for texts in requests]
    calls_before = batcher.calls
    with ThreadPoolExecutor(16) as pool:
        concurrent = list(pool.map(lambda texts: call(address, "POST", "/predict", {"texts": texts}), requests))
    assert all(status == 200 for status, _ in serial + concurrent)
    for (_, expected), (_, actual) in zip(serial, concurrent):
        assert_same_predictions(actual, expected, score_tolerance=1e-5)
    assert batcher.calls - calls_before < len(requests)  # requests were batched together


def test_serving_the_pytorch_model(exported_model) -> None:
    model = stmtl.load(exported_model)
    server, thread, address = _start(create_app(model, SETTINGS, "torch"))
    try:
        status, data = call(address, "POST", "/predict", {"texts": TEXTS[:4]})
        assert status == 200
        assert_same_predictions(data["results"], model.predict(TEXTS[:4]), score_tolerance=1e-5)
        assert call(address, "GET", "/health")[1]["tasks"] == ["intent", "ner", "topics"]
    finally:
        server.should_exit = True
        thread.join(30)
