"""Local API: API Gateway HTTP API (payload v2) in front of the unchanged ``lambda_handler``.

Each HTTP request becomes the event API Gateway would send (stage ``prod``, ``requestContext``,
lower-cased headers, the body as a string or base64) and goes to one of the Lambda execution
environments (``devstack.environments``: processes that import ``handler.app`` once and handle one
event at a time, like Lambda). This module holds no routing or validation of its own; the only
answers it makes itself are API Gateway's own (payload over 10 MB, function crash).
"""

from __future__ import annotations

import argparse
import base64
import logging
import signal
import sys
import time
import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from devstack.environments import Environments, FunctionError
from devstack.jsonlog import configure_json_logging
from devstack.lambda_env import function_environment, model_endpoints

log = logging.getLogger("sentimentpulse.local_api")
STAGE = "prod"
API_GATEWAY_MAX_BODY = 10 * 1024 * 1024
TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
)


# ------------------------------------------------------------------ HTTP -> event -> HTTP
def build_event(
    method: str, target: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
) -> dict[str, Any]:
    url = urlsplit(target)
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    content_type = merged.get("content-type", "")
    is_text = not content_type or content_type.lower().startswith(TEXT_TYPES)
    try:
        text_body = body.decode("utf-8") if is_text else None
    except UnicodeDecodeError:
        text_body = None
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": url.path,
        "rawQueryString": url.query,
        "headers": merged,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": merged.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": url.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": STAGE,
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": text_body is None,
    }
    if cookies:
        event["cookies"] = cookies
    if url.query:
        event["queryStringParameters"] = dict(parse_qsl(url.query, keep_blank_values=True))
    if body:
        event["body"] = text_body if text_body is not None else base64.b64encode(body).decode("ascii")
    return event


class LocalApi(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], environments: Environments) -> None:
        super().__init__(address, RequestHandler)
        self.environments = environments


class RequestHandler(BaseHTTPRequestHandler):
    server: LocalApi
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # socketserver sets TCP_NODELAY on each connection

    def _handle(self) -> None:
        started = time.perf_counter()
        length = int(self.headers.get("Content-Length") or 0)
        if length > API_GATEWAY_MAX_BODY:
            self.close_connection = True  # the unread body makes the connection unusable
            self._send(413, {"content-type": "application/json"}, b'{"message":"Request Entity Too Large"}')
            return
        body = self.rfile.read(length) if length else b""
        event = build_event(self.command, self.path, list(self.headers.items()), body, self.client_address[0])
        try:
            result = self.server.environments.invoke(event)
        except FunctionError as exc:  # the function crashed: API Gateway answers 500 without details
            log.error("function error", extra={"requestId": event["requestContext"]["requestId"], "error": str(exc)})
            self._send(500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}')
            return
        payload = result.get("body") or ""
        data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode("utf-8")
        headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
        headers["apigw-requestid"] = event["requestContext"]["requestId"]
        self._send(int(result.get("statusCode", 200)), headers, data, result.get("cookies") or [])
        log.info(
            "request",
            extra={
                "method": self.command,
                "path": event["rawPath"],
                "status": result.get("statusCode"),
                "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )

    def _send(self, status: int, headers: dict[str, str], data: bytes, cookies: list[str] | None = None) -> None:
        """Status line, headers and body in one write (with TCP_NODELAY): no Nagle / delayed-ACK stall."""
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        lines = [f"{self.protocol_version} {status} {phrase}", f"Date: {self.date_time_string()}"]
        lines += [
            f"{k}: {v}" for k, v in headers.items() if k not in {"content-length", "connection", "transfer-encoding"}
        ]
        lines += [f"set-cookie: {cookie}" for cookie in cookies or []]
        lines.append(f"content-length: {len(data)}")
        if self.close_connection:
            lines.append("connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "strict")
        self.wfile.write(head if self.command == "HEAD" else head + data)

    def __getattr__(self, name: str) -> Any:
        # Every method goes to the function, as with an HTTP API $default route.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:  # the JSON "request" line replaces it
        return


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.api", description="API Gateway HTTP API stand-in for the unchanged handler."
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--model-url", default="http://127.0.0.1:8080", help="the local model server")
    parser.add_argument("--concurrency", type=int, default=4, help="Lambda environments (worker processes)")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="override a function variable of env.json"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= 64:
        parser.error("--concurrency must be between 1 and 64")
    if any("=" not in item for item in args.env):
        parser.error("--env takes NAME=VALUE")
    configure_json_logging()
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)  # stop like Ctrl-C: close the environments
    overrides = dict(item.split("=", 1) for item in args.env)
    local = {**model_endpoints(args.model_url), "POWERTOOLS_TRACE_DISABLED": "true"}
    environments = Environments(function_environment({**local, **overrides}), args.concurrency)
    server = LocalApi((args.host, args.port), environments)
    log.info("local API ready", extra={"url": f"http://{args.host}:{args.port}", "environments": args.concurrency})
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        environments.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
