"""Devstack tier: the real model server and local API as subprocesses on free loopback ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.stack import LocalStack
from tests.support import Http, start_stack


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.devstack)


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
