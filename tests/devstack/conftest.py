"""Devstack tier: the real model server and local API as subprocesses on free loopback ports."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.devstack)
