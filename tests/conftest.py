"""Fixtures more than one folder uses, and the cost markers.

Folders mirror the packages (handler, model_code, packaging, training, devstack, bench, infra); each
test module says what it costs with one registered marker (``pytestmark``), and collection fails on a
test with none or two. ``unit`` tests run in-process and may not open a connection.

The local stack (our model server and the local API on free loopback ports) starts once per session, for
the first test that asks for it. A folder with its own stack (tests/devstack/dlc) defines ``stack`` and
``api`` again, closer to its tests."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.stack import LocalStack, free_port, wait_ready
from tests.support import Http, start_stack
from tests.tiny_model import make_tiny_model

COST_MARKERS = ("unit", "model", "template", "devstack", "browser", "dlc", "docker", "bench")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        costs = sorted({mark.name for mark in item.iter_markers() if mark.name in COST_MARKERS})
        if len(costs) != 1:
            raise pytest.UsageError(
                f"{item.nodeid}: give its module exactly one cost marker of {COST_MARKERS} (pytestmark), not {costs}"
            )


@pytest.fixture(autouse=True)
def _unit_tests_open_no_connections(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("unit") is None:
        return

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("unit tests must not open network connections")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


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


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random DistilBERT with the embedded model's tokenizer (model_code, packaging, training)."""
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto's S3 server on a free loopback port, stopped at the end of the session."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/moto-api/", server, "moto server", timeout=60)
        yield f"http://localhost:{port}"  # localhost, not 127.0.0.1: path-style S3 needs it
    finally:
        server.terminate()
        server.wait(timeout=10)
