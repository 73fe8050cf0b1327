"""Bench tier: every measurement's code runs end to end in its quick mode (no timing assertions)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.bench)
