"""Integration tier: the real model server and local API as subprocesses on free loopback ports."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from model.local.stack import LocalStack, free_port
from tests.support import EMBEDDED_MODEL


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.integration)


class Http:
    """A tiny HTTP client for tests: returns (status, headers, body bytes), never raises on 4xx/5xx."""

    def __init__(self, base: str) -> None:
        self.base = base

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> tuple[int, dict[str, str], bytes]:
        data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback
                return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
        except urllib.error.HTTPError as error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()

    def post_json(self, path: str, payload: Any, timeout: float = 60) -> tuple[int, dict[str, str], Any]:
        status, headers, raw = self.request(
            "POST", path, json.dumps(payload), {"Content-Type": "application/json"}, timeout
        )
        return status, headers, json.loads(raw)

    def get_json(self, path: str) -> Any:
        status, _, raw = self.request("GET", path)
        assert status == 200
        return json.loads(raw)


def start_stack(tmp_path: Path, **kwargs: Any) -> LocalStack:
    log = (tmp_path / "stack.log").open("wb")
    stack = LocalStack(
        model=str(EMBEDDED_MODEL), api_port=free_port(), model_port=free_port(), concurrency=2, log=log, **kwargs
    )
    return stack.start()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    running = start_stack(tmp_path_factory.mktemp("stack"))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def api(stack: LocalStack) -> Http:
    return Http(stack.api_url)


@pytest.fixture(scope="session")
def model_server(stack: LocalStack) -> Http:
    return Http(stack.model_url)
