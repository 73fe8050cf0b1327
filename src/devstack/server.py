"""Local model server: SageMaker's protocols on loopback, serving model/code/inference.py.

Routes
  POST /endpoints/{name}/invocations  the SageMaker *runtime* API path; the sagemaker-runtime
                                      client reaches it through AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME
  POST /invocations                   the container contract (what SageMaker calls inside)
  GET  /ping                          200 once the model is loaded, 503 before
  GET  /_local/stats                  request, text and model-call counters (batching is observable)
  POST /_local/fault                  fault injection, only with --enable-fault-injection

Errors come back the way the SageMaker runtime returns them (x-amzn-ErrorType header + JSON
body), so botocore raises its real exceptions: a model failure is ``ModelError`` (HTTP 424) with
``OriginalStatusCode`` and ``OriginalMessage``; an unknown endpoint is ``ValidationError``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from devstack.batching import BatchSettings, Dropped, DynamicBatcher, Overloaded
from devstack.jsonlog import configure_json_logging
from model.code import inference
from model.source import ModelSourceError, hub_direct_dir, is_hub_id, resolve_model_dir

log = logging.getLogger("sentimentpulse.model_server")
ACCOUNT = "123456789012"
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # SageMaker real-time invocation payload limit


class Fault(BaseModel):
    """An injected fault, for tests of the Lambda's error mapping."""

    mode: Literal["none", "error", "garbage", "wrong-schema", "throttle"] = "none"
    # delay_s slows any mode down (with "none": a slow but healthy model)
    delay_s: float = Field(default=0.0, ge=0.0, le=120.0)


def _connected(request: web.Request) -> bool:
    return request.transport is not None and not request.transport.is_closing()


def runtime_error(status: int, error_type: str, body: dict[str, Any]) -> web.Response:
    return web.json_response(body, status=status, headers={"x-amzn-ErrorType": f"{error_type}:"})


def model_error(endpoint: str, original_status: int, message: str) -> web.Response:
    kind = "client" if original_status < 500 else "server"
    return runtime_error(
        424,
        "ModelError",
        {
            "ErrorCode": f"{kind.upper()}_ERROR_FROM_MODEL",
            "LogStreamArn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/{endpoint}",
            "Message": f'Received {kind} error ({original_status}) from primary with message "{message}".',
            "OriginalMessage": message,
            "OriginalStatusCode": original_status,
        },
    )


class ModelServer:
    def __init__(
        self, model_spec: str, endpoint_name: str, batching: BatchSettings, faults: bool, revision: str = "main"
    ) -> None:
        self.model_spec = model_spec
        self.revision = revision
        self.endpoint_name = endpoint_name
        self.batching = batching
        self.faults_enabled = faults
        self.fault = Fault()
        self.loaded: inference.LoadedModel | None = None
        self.batcher = DynamicBatcher(self._predict, batching)
        self.load_failed = False
        self.invocations = 0  # every invocation received, including refused and faulted ones

    # -------------------------------------------------------------- lifecycle
    async def on_startup(self, app: web.Application) -> None:
        self.batcher.start()
        app["load_task"] = asyncio.get_running_loop().create_task(self._load())

    async def on_cleanup(self, app: web.Application) -> None:
        await self.batcher.stop()

    async def _load(self) -> None:
        started = time.perf_counter()
        try:
            if is_hub_id(self.model_spec):  # as a hub-direct endpoint: code-only archive + HF_MODEL_ID
                model_dir = await asyncio.to_thread(hub_direct_dir)
                os.environ.update(HF_MODEL_ID=self.model_spec, HF_MODEL_REVISION=self.revision)
            else:
                model_dir = await asyncio.to_thread(resolve_model_dir, self.model_spec)
            self.loaded = await asyncio.to_thread(inference.model_fn, str(model_dir))
        except (ModelSourceError, OSError, ValueError) as exc:
            self.load_failed = True
            log.error("model load failed", extra={"model": self.model_spec, "reason": str(exc)})
            os.kill(os.getpid(), signal.SIGTERM)
            return
        log.info(
            "model ready",
            extra={
                "model": self.model_spec,
                "inference_path": self.loaded.inference_path,
                "max_length": self.loaded.max_length,
                "labels": sorted(self.loaded.id2label.values()),
                "load_seconds": round(time.perf_counter() - started, 2),
            },
        )

    def _predict(self, texts: list[str]) -> list[dict[str, Any]]:
        assert self.loaded is not None
        return inference.predict_fn({"inputs": texts, "parameters": {}}, self.loaded)

    # -------------------------------------------------------------- routes
    async def ping(self, request: web.Request) -> web.Response:
        if self.loaded is None:
            return web.json_response({"status": "loading"}, status=503)
        return web.json_response({"status": "ok"})

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "invocations": self.invocations,
                **self.batcher.stats.as_dict(),
                "batching": self.batching.model_dump(),
                "fault": self.fault.model_dump(),
            }
        )

    async def set_fault(self, request: web.Request) -> web.Response:
        try:
            self.fault = Fault.model_validate_json(await request.read())
        except ValidationError as exc:
            return web.json_response({"message": exc.errors(include_input=False)}, status=400)
        log.warning("fault injected", extra=self.fault.model_dump())
        return web.json_response(self.fault.model_dump())

    async def runtime_invocations(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name != self.endpoint_name:
            return runtime_error(
                400, "ValidationError", {"message": f"Endpoint {name} of account {ACCOUNT} not found."}
            )
        return await self._invoke(request, name)

    async def container_invocations(self, request: web.Request) -> web.Response:
        return await self._invoke(request, self.endpoint_name)

    async def _invoke(self, request: web.Request, endpoint: str) -> web.Response:
        started = time.perf_counter()
        self.invocations += 1
        if self.loaded is None:
            return runtime_error(
                429 if not self.load_failed else 503,
                "ModelNotReadyException",
                {"message": "Model is not ready yet. Retry after the endpoint passes /ping."},
            )
        fault = self.fault
        if fault.mode == "throttle":
            return runtime_error(400, "ThrottlingException", {"message": "Rate exceeded"})
        if fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        if fault.mode == "error":
            return model_error(endpoint, 500, f"{inference.MODEL_FAILURE}: injected fault")
        if fault.mode == "garbage":
            return web.Response(body=b"<html>502 Bad Gateway</html>", content_type="text/html")
        body = await request.read()
        try:
            data = inference.input_fn(body, request.headers.get("Content-Type", inference.JSON))
            if "max_total_tokens" in data["parameters"]:  # refused before it can queue, as predict_fn would
                await asyncio.to_thread(inference.budgeted_encode, data, self.loaded)
            predictions = await self.batcher.submit(data["inputs"], alive=lambda: _connected(request))
            if fault.mode == "wrong-schema":
                predictions = [{"sentiment": p["label"]} for p in predictions]
            payload = inference.output_fn(predictions, request.headers.get("Accept", inference.JSON))
        except Overloaded:
            # SageMaker's answer when an endpoint is past its capacity: throttled, come back shortly.
            self._log(endpoint, 429, 0, started, error="overloaded")
            response = runtime_error(429, "ThrottlingException", {"message": "Rate exceeded: the model queue is full"})
            response.headers["Retry-After"] = "1"
            return response
        except Dropped:
            self._log(endpoint, 503, 0, started, error="dropped")
            return runtime_error(503, "ServiceUnavailable", {"message": "The request waited too long and was dropped"})
        except (inference.InputError, inference.ModelFailure) as exc:
            # The HF toolkit answers 400 for every exception raised by the hooks.
            self._log(endpoint, 424, 0, started, error=str(exc).split(":", 1)[0])
            return model_error(endpoint, 400, str(exc))
        self._log(endpoint, 200, len(predictions), started)
        return web.Response(text=payload, content_type=inference.JSON)

    def _log(self, endpoint: str, status: int, texts: int, started: float, error: str | None = None) -> None:
        extra = {"endpoint": endpoint, "status": status, "texts": texts}
        extra["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
        if error:
            extra["error"] = error
        log.info("invocation", extra=extra)


def make_app(server: ModelServer) -> web.Application:
    app = web.Application(client_max_size=MAX_PAYLOAD_BYTES)
    app.router.add_get("/ping", server.ping)
    app.router.add_post("/invocations", server.container_invocations)
    app.router.add_post("/endpoints/{name}/invocations", server.runtime_invocations)
    app.router.add_get("/_local/stats", server.stats)
    if server.faults_enabled:
        app.router.add_post("/_local/fault", server.set_fault)
    app.on_startup.append(server.on_startup)
    app.on_cleanup.append(server.on_cleanup)
    return app


def main(argv: list[str] | None = None) -> int:
    defaults = BatchSettings()
    parser = argparse.ArgumentParser(
        prog="python -m devstack.server", description="SageMaker-compatible local model server (loopback)."
    )
    parser.add_argument("--model", required=True, help="model directory, model.tar.gz, or Hub id")
    parser.add_argument("--revision", default="main", help="Hub revision for a Hub id (HF_MODEL_REVISION)")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--endpoint-name", default="sentimentpulse-local", help="name the runtime path accepts")
    parser.add_argument("--max-batch-size", type=int, default=defaults.max_batch_size, help="texts per model call")
    parser.add_argument("--max-wait-ms", type=float, default=defaults.max_wait_ms, help="batch fill wait")
    parser.add_argument("--max-queue-texts", type=int, default=defaults.max_queue_texts, help="queue bound (texts)")
    parser.add_argument(
        "--max-queue-ms", type=float, default=defaults.max_queue_ms, help="drop requests waiting longer"
    )
    parser.add_argument("--enable-fault-injection", action="store_true", help="expose POST /_local/fault (tests)")
    args = parser.parse_args(argv)
    configure_json_logging()
    try:
        batching = BatchSettings(
            max_batch_size=args.max_batch_size,
            max_wait_ms=args.max_wait_ms,
            max_queue_texts=args.max_queue_texts,
            max_queue_ms=args.max_queue_ms,
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"--{'-'.join(str(p) for p in e['loc']).replace('_', '-')}: {e['msg']}" for e in exc.errors()
        )
        parser.error(problems)
    server = ModelServer(args.model, args.endpoint_name, batching, args.enable_fault_injection, args.revision)
    log.info("model server starting", extra={"url": f"http://{args.host}:{args.port}", "model": args.model})
    web.run_app(make_app(server), host=args.host, port=args.port, print=None, access_log=None)
    return 1 if server.load_failed else 0


if __name__ == "__main__":
    sys.exit(main())
