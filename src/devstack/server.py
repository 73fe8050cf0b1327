"""Local model server: SageMaker's protocols on loopback, serving model/code/inference.py.

Routes
  POST /endpoints/{name}/invocations  the runtime API (AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME points here)
  POST /                              the control plane's DescribeEndpoint (AWS_ENDPOINT_URL_SAGEMAKER)
  POST /invocations                   the container contract (what SageMaker calls inside)
  GET  /ping                          200 once the model load has been tried, 503 before
  GET  /_local/stats                  counters (batching is observable) and the model load's outcome
  POST /_local/fault                  fault injection, only with --enable-fault-injection

A stand-in for the Hugging Face DLC that does what the real stack does (tests/devstack/dlc runs one case
table through both): the body is decoded before ``input_fn``; ``parameters`` reach ``predict_fn``; a
failed ``model_fn`` leaves ``/ping`` healthy and every invocation retries it, answering 400 with its
message; errors come back as the runtime API returns the container's (devstack/sagemaker_wire.py).
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

from devstack.batching import BatchSettings, Dropped, DynamicBatcher, Overloaded, combine_parameters
from devstack.jsonlog import configure_json_logging
from devstack.sagemaker_wire import (
    CUSTOM_ATTRIBUTES,
    UTF8_TYPES,
    container_error,
    describe_endpoint,
    model_error,
    runtime_error,
    unknown_endpoint,
)
from model.code import inference
from model.source import ModelSourceError, hub_direct_dir, is_hub_id, resolve_model_dir

log = logging.getLogger("sentimentpulse.model_server")
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # SageMaker real-time invocation payload limit


class Fault(BaseModel):
    """An injected fault, for tests of the Lambda's error mapping."""

    mode: Literal["none", "error", "garbage", "wrong-schema", "throttle"] = "none"
    # delay_s slows any mode down (with "none": a slow but healthy model)
    delay_s: float = Field(default=0.0, ge=0.0, le=120.0)


def _connected(request: web.Request) -> bool:
    return request.transport is not None and not request.transport.is_closing()


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
        self.batcher = DynamicBatcher(self._predict, batching, combine_parameters)
        self.load_error: str | None = None  # str(exception) of the last failed model_fn
        self.load_tried = False
        self.model_dir: str | None = None
        self.source_failed = False
        self._loading = asyncio.Lock()
        self.invocations = 0  # every invocation received, including refused and faulted ones

    # -------------------------------------------------------------- lifecycle
    async def on_startup(self, app: web.Application) -> None:
        self.batcher.start()
        app["load_task"] = asyncio.get_running_loop().create_task(self._load())

    async def on_cleanup(self, app: web.Application) -> None:
        await self.batcher.stop()

    async def _model_dir(self) -> str | None:
        """Where the model is, as SageMaker downloads and extracts it; None (and the server stops) when it
        cannot be had: an endpoint whose ModelDataUrl cannot be read never comes up either."""
        if self.model_dir is not None:
            return self.model_dir
        try:
            if is_hub_id(self.model_spec):  # as a hub-direct endpoint: code-only archive + HF_MODEL_ID
                found = await asyncio.to_thread(hub_direct_dir)
                os.environ.update(HF_MODEL_ID=self.model_spec, HF_MODEL_REVISION=self.revision)
            else:
                found = await asyncio.to_thread(resolve_model_dir, self.model_spec)
        except (ModelSourceError, OSError, ValueError) as exc:
            self.source_failed = True
            log.error("model not available", extra={"model": self.model_spec, "reason": str(exc)})
            os.kill(os.getpid(), signal.SIGTERM)
            return None
        self.model_dir = str(found)
        return self.model_dir

    async def _load(self) -> None:
        started = time.perf_counter()
        model_dir = await self._model_dir()
        if model_dir is None:
            return
        try:
            self.loaded = await asyncio.to_thread(inference.model_fn, model_dir)
        except Exception as exc:  # the toolkit catches every exception of model_fn the same way
            self.load_error = str(exc)
            log.error("model load failed", extra={"model": self.model_spec, "reason": self.load_error})
            return
        finally:
            self.load_tried = True
        self.load_error = None
        log.info(
            "model ready",
            extra={
                "model": self.model_spec,
                "variant": self.loaded.variant,
                "max_length": self.loaded.max_length,
                "labels": sorted(self.loaded.id2label.values()),
                "load_seconds": round(time.perf_counter() - started, 2),
            },
        )

    def _predict(self, texts: list[str], parameters: dict[str, Any]) -> list[Any]:
        assert self.loaded is not None
        answers: list[Any] = inference.predict_fn({"inputs": texts, "parameters": parameters}, self.loaded)
        return answers

    # -------------------------------------------------------------- routes
    async def ping(self, request: web.Request) -> web.Response:
        if not self.load_tried:
            return web.json_response({"status": "loading"}, status=503)
        return web.json_response({"status": "Healthy"})  # after a failed load too, as MMS answers

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "invocations": self.invocations,
                "model_loaded": self.loaded is not None,
                **{key: getattr(self.loaded, key, None) for key in ("variant", "choice")},  # None before a load
                "load_error": self.load_error,
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
            return unknown_endpoint(name)
        return await self._invoke(request, name)

    async def container_invocations(self, request: web.Request) -> web.Response:
        return await self._invoke(request, self.endpoint_name)

    async def _invoke(self, request: web.Request, endpoint: str) -> web.Response:
        started = time.perf_counter()
        self.invocations += 1
        if not self.load_tried:
            message = "Model is not ready yet. Retry after the endpoint passes /ping."
            return runtime_error(429, "ModelNotReadyException", {"message": message})
        if self.loaded is None:  # the toolkit tries model_fn again on every request after a failed load
            async with self._loading:
                if self.loaded is None:
                    await self._load()
            if self.loaded is None:
                self._log(endpoint, 424, 0, started, error="model load failed")
                return model_error(endpoint, 400, container_error(self.load_error or "model load failed"))
        fault = self.fault
        if fault.mode == "throttle":
            return runtime_error(400, "ThrottlingException", {"message": "Rate exceeded"})
        if fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        if fault.mode == "error":
            return model_error(endpoint, 500, container_error(f"{inference.MODEL_FAILURE}: injected fault", 500))
        if fault.mode == "garbage":
            return web.Response(body=b"<html>502 Bad Gateway</html>", content_type="text/html")
        raw = await request.read()
        body: bytes | str = raw
        content_type = request.headers.get("Content-Type", inference.JSON)
        try:
            if content_type.split(";")[0].strip().lower() in UTF8_TYPES:
                body = raw.decode("utf-8")  # the toolkit decodes before input_fn, outside our hooks
        except UnicodeDecodeError as exc:
            self._log(endpoint, 424, 0, started, error="UnicodeDecodeError")
            return model_error(endpoint, 400, container_error(str(exc)))
        try:
            data = inference.input_fn(body, content_type)
            predictions, headers = await self._answer(data, request)
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
            return model_error(endpoint, 400, container_error(str(exc)))
        self._log(endpoint, 200, len(data["inputs"]), started)
        return web.Response(text=payload, content_type=inference.JSON, headers=headers)

    async def _answer(self, data: dict[str, Any], request: web.Request) -> tuple[Any, dict[str, str]]:
        """predict_fn's answer (through the batcher) and the CustomAttributes it reports."""
        assert self.loaded is not None
        if data["parameters"].get("info"):  # which model and code serve: no batching, no model work
            return await asyncio.to_thread(inference.predict_fn, data, self.loaded), {}
        # Refused before it can queue, as predict_fn would; and the usage predict_fn reports.
        encoded = await asyncio.to_thread(inference.budgeted_encode, data, self.loaded)
        answers = await self.batcher.submit(data["inputs"], data["parameters"], alive=lambda: _connected(request))
        return answers, {CUSTOM_ATTRIBUTES: inference.custom_attributes(self.loaded, encoded)}

    async def control_plane(self, request: web.Request) -> web.Response:
        """SageMaker's DescribeEndpoint for this server's endpoint: InService once the model is loaded."""
        status = "InService" if self.loaded is not None else ("Creating" if not self.load_tried else "Failed")
        return await describe_endpoint(request, self.endpoint_name, status)

    def _log(self, endpoint: str, status: int, texts: int, started: float, error: str | None = None) -> None:
        extra = {"endpoint": endpoint, "status": status, "texts": texts}
        extra["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
        if error:
            extra["error"] = error
        log.info("invocation", extra=extra)


def make_app(server: ModelServer) -> web.Application:
    app = web.Application(client_max_size=MAX_PAYLOAD_BYTES)
    app.router.add_get("/ping", server.ping)
    app.router.add_post("/", server.control_plane)
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
    return 1 if server.source_failed else 0


if __name__ == "__main__":
    sys.exit(main())
