"""Fixtures more than one tier uses: the local stack (our model server and the local API) on free
loopback ports, started once per session by the first test that asks for it. A tier with its own
stack (tests/dlc) defines ``stack`` and ``api`` again, closer to its tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.stack import LocalStack
from tests.support import Http, start_stack


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
