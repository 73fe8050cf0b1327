"""The SageMaker runtime API in front of a serving container: what boto3's client calls, locally.

    python -m devstack.runtime_front --upstream http://127.0.0.1:8081 --port 8080

``POST /endpoints/{name}/invocations`` is forwarded to the container's ``POST /invocations`` with its
body, Content-Type and Accept; the container's answer comes back as the runtime API gives it: a 200
as it is, anything else as ``ModelError`` (424) carrying the container's status and body
(devstack/sagemaker_wire.py). ``GET /ping`` is the container's. With the Hugging Face DLC's real
serving stack behind it (devstack/dlc.py), the Lambda's real adapter reaches the real toolkit.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

import aiohttp
from aiohttp import web

from devstack.jsonlog import configure_json_logging
from devstack.sagemaker_wire import CUSTOM_ATTRIBUTES, describe_endpoint, model_error, runtime_error, unknown_endpoint

log = logging.getLogger("sentimentpulse.runtime_front")
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # SageMaker real-time invocation payload limit
FORWARDED = ("Content-Type", "Accept")


class RuntimeFront:
    def __init__(self, upstream: str, endpoint_name: str, timeout_s: float) -> None:
        self.upstream = upstream.rstrip("/")
        self.endpoint_name = endpoint_name
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.session: aiohttp.ClientSession | None = None

    async def on_startup(self, app: web.Application) -> None:
        self.session = aiohttp.ClientSession(timeout=self.timeout)

    async def on_cleanup(self, app: web.Application) -> None:
        if self.session is not None:
            await self.session.close()

    async def ping(self, request: web.Request) -> web.Response:
        assert self.session is not None
        try:
            async with self.session.get(f"{self.upstream}/ping") as answer:
                return web.Response(status=answer.status, body=await answer.read(), content_type="application/json")
        except aiohttp.ClientError:
            return web.json_response({"status": "unreachable"}, status=503)

    async def control_plane(self, request: web.Request) -> web.Response:
        """DescribeEndpoint: InService while the container answers /ping."""
        assert self.session is not None
        try:
            async with self.session.get(f"{self.upstream}/ping") as answer:
                status = "InService" if answer.status == 200 else "Creating"
        except aiohttp.ClientError:
            status = "Failed"
        return await describe_endpoint(request, self.endpoint_name, status)

    async def invocations(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name != self.endpoint_name:
            return unknown_endpoint(name)
        assert self.session is not None
        started = time.perf_counter()
        headers = {h: request.headers[h] for h in FORWARDED if h in request.headers}
        try:
            async with self.session.post(
                f"{self.upstream}/invocations", data=await request.read(), headers=headers
            ) as answer:
                status, body = answer.status, await answer.read()
                content_type = answer.headers.get("Content-Type", "application/json")
                attributes = answer.headers.get(CUSTOM_ATTRIBUTES)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("container unreachable", extra={"error": type(exc).__name__})
            return runtime_error(503, "ServiceUnavailable", {"message": "The container did not answer"})
        log.info("invocation", extra={"status": status, "latency_ms": round((time.perf_counter() - started) * 1000, 2)})
        if status == 200:  # the runtime API passes the container's custom attributes through
            headers = {"Content-Type": content_type, **({CUSTOM_ATTRIBUTES: attributes} if attributes else {})}
            return web.Response(body=body, headers=headers)
        return model_error(name, status, body.decode("utf-8", errors="replace"))


def make_app(front: RuntimeFront) -> web.Application:
    app = web.Application(client_max_size=MAX_PAYLOAD_BYTES)
    app.router.add_get("/ping", front.ping)
    app.router.add_post("/", front.control_plane)
    app.router.add_post("/endpoints/{name}/invocations", front.invocations)
    app.on_startup.append(front.on_startup)
    app.on_cleanup.append(front.on_cleanup)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.runtime_front", description=__doc__.split("\n")[0])
    parser.add_argument("--upstream", required=True, help="the serving container's base URL")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--endpoint-name", default="sentimentpulse-local", help="name the runtime path accepts")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the container")
    args = parser.parse_args(argv)
    configure_json_logging()
    front = RuntimeFront(args.upstream, args.endpoint_name, args.timeout)
    web.run_app(make_app(front), host=args.host, port=args.port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
