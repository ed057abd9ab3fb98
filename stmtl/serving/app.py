"""The HTTP service: FastAPI routes on uvicorn, every bad request answered with a 4xx and a one-line reason.

Routes:
    ``POST /predict`` ``{"texts": [str, ...], "output_embedding": false}`` → ``{"results": [...]}``, one per text,
    as ``predict`` returns them (the embedding as a list of floats when asked for).
    ``POST /encode`` ``{"texts": [str, ...], "normalize": false}`` → ``{"embeddings": [[float, ...], ...]}``.
    ``GET /health`` → ``{"status": "ok", "backend", "tasks", "max_seq_length"}`` once the model is loaded.

Why FastAPI on uvicorn: the common ASGI pair, an OpenAPI schema at ``/docs`` for client authors, request bodies
checked by pydantic, and an event loop on which waiting requests cost nothing while the model runs in its thread
(:mod:`stmtl.serving.batcher`). Errors are ``{"error": "<one line>"}``: 400 for a body that is not JSON, 413 for a
body over ``--max-body-bytes`` (checked before the body is parsed, whatever ``Content-Length`` claims), 415 for a
body sent as another content type, 422 for a body of the wrong shape, too many texts, a text too long or not valid
Unicode, 404/405 for an unknown route or method, 503 when the queue is full. A 500 means a bug.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException

from stmtl.decoding.windows import check_texts
from stmtl.serving.batcher import Busy, MicroBatcher
from stmtl.serving.settings import ServeSettings

logger = logging.getLogger(__name__)


class PredictRequest(BaseModel):
    """Body of ``POST /predict``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    texts: list[str]
    output_embedding: bool = False


class EncodeRequest(BaseModel):
    """Body of ``POST /encode``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    texts: list[str]
    normalize: bool = False


class BadRequest(Exception):
    """A request the service refuses, with its HTTP status and one-line reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def _error(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": " ".join(reason.split())}, status_code=status)


class BodyLimit:
    """ASGI middleware: read the whole body first and refuse it with 413 past ``limit`` bytes, before any parsing."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                await _error(413, f"request body over the limit of {self.limit} bytes")(scope, receive, send)
                return
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _validation_reason(error: RequestValidationError, request: Request) -> tuple[int, str]:
    """Status and one line for pydantic's first complaint, e.g. ``texts[3]: Input should be a valid string``."""
    first = error.errors()[0] if error.errors() else {}
    if first.get("type") == "json_invalid":
        return 400, f"body is not valid JSON ({first.get('ctx', {}).get('error', 'parse error')})"
    location = tuple(first.get("loc", ()))[1:]  # the first part is "body"
    content_type = request.headers.get("content-type", "")
    if not location and content_type and "json" not in content_type.lower():
        return 415, f"body must be JSON, sent with Content-Type: application/json (got {content_type!r})"
    where = ""
    for part in location:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    message = first.get("msg", "invalid request")
    if first.get("type") == "extra_forbidden":
        fields = _BODIES.get(request.url.path)
        message = f"unknown field (allowed: {', '.join(fields.model_fields)})" if fields else "unknown field"
    elif not location and first.get("type") in ("model_attributes_type", "dict_type", "model_type"):
        message = 'must be a JSON object such as {"texts": ["..."]}'
    return 422, f"{where or 'body'}: {message}"


_BODIES: dict[str, type[BaseModel]] = {"/predict": PredictRequest, "/encode": EncodeRequest}


def create_app(model: Any, settings: ServeSettings, backend: str) -> Any:
    """The ASGI application serving ``model`` (a PyTorch model or an :class:`~stmtl.onnx.runner.OnnxModel`).

    Returns:
        The app wrapped in :class:`BodyLimit`.
    """

    def run(call: str, option: bool, texts: list[str]) -> list[Any]:
        if call == "predict":
            results = model.predict(texts, batch_size=settings.batch_size, show_progress_bar=False,
                                    output_embedding=option)  # fmt: skip
            for result in results:
                if "sentence_embedding" in result:
                    result["sentence_embedding"] = np.asarray(result["sentence_embedding"], dtype=float).tolist()
            return results
        embeddings = model.encode(texts, batch_size=settings.batch_size, show_progress_bar=False,
                                  normalize_embeddings=option)  # fmt: skip
        return np.asarray(embeddings, dtype=float).tolist()

    batcher = MicroBatcher(run, settings.batch_size, settings.max_wait_ms, settings.max_queue_texts)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(title="stmtl", summary="Multi-task sentence-transformers model", lifespan=lifespan)
    app.state.batcher = batcher

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return _error(*_validation_reason(error, request))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        if error.status_code == 404:
            return _error(404, f"no route {request.method} {request.url.path} (POST /predict, POST /encode, GET "
                               "/health)")  # fmt: skip
        if error.status_code == 405:
            return _error(405, f"{request.url.path} does not take {request.method}")
        return _error(error.status_code, str(error.detail))

    @app.exception_handler(BadRequest)
    async def bad_request(request: Request, error: BadRequest) -> JSONResponse:
        return _error(error.status, error.reason)

    async def submit(call: str, option: bool, texts: list[str]) -> list[Any]:
        if len(texts) > settings.max_texts:
            raise BadRequest(422, f"texts: {len(texts)} texts, over the limit of {settings.max_texts} per request")
        for index, text in enumerate(texts):
            if len(text) > settings.max_text_chars:
                raise BadRequest(
                    422, f"texts[{index}]: {len(text)} characters, over the limit of {settings.max_text_chars}"
                )
        try:
            check_texts(texts, "texts")
        except (TypeError, ValueError) as error:
            raise BadRequest(422, str(error)) from None
        try:
            return await batcher.submit(call, option, texts)
        except Busy as error:
            raise BadRequest(503, str(error)) from None

    # Responses are built here rather than by FastAPI's encoder, which would walk every float of the embeddings.
    @app.post("/predict", response_class=JSONResponse)
    async def predict(body: PredictRequest) -> JSONResponse:
        return JSONResponse({"results": await submit("predict", body.output_embedding, body.texts)})

    @app.post("/encode", response_class=JSONResponse)
    async def encode(body: EncodeRequest) -> JSONResponse:
        return JSONResponse({"embeddings": await submit("encode", body.normalize, body.texts)})

    @app.get("/health")
    async def health() -> dict[str, Any]:
        tasks = list(getattr(model, "tasks", None) or getattr(model, "heads", {}))
        return {"status": "ok", "backend": backend, "tasks": tasks, "max_seq_length": model.max_seq_length}

    return BodyLimit(app, settings.max_body_bytes)


def load_model(path: str, backend: str, threads: int | None = None) -> Any:
    """The model for ``backend``, warmed up by one call (the first request then pays no start-up cost)."""
    from stmtl.loading import load

    if backend == "torch":
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        if threads:
            import torch

            torch.set_num_threads(threads)
        model = load(path)
    else:
        model = load(path, backend=backend, threads=threads)
    model.predict(["warm up"], show_progress_bar=False)
    return model


def serve(path: str, backend: str, settings: ServeSettings) -> None:
    """Load the model, then serve it until interrupted (Ctrl-C or SIGTERM)."""
    import uvicorn

    model = load_model(path, backend, settings.threads)
    app = create_app(model, settings, backend)
    print(f"stmtl serve: {path} ({backend}) on http://{settings.host}:{settings.port}", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False,
                server_header=False, timeout_keep_alive=5)  # fmt: skip
