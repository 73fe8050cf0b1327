"""devstack.environments.FairPool: the local API's idle Lambda environments, first come, first served."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from devstack.environments import FairPool

pytestmark = pytest.mark.unit


def _wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_waiters_are_served_in_arrival_order() -> None:
    pool: FairPool[str] = FairPool()
    pool.put("environment")
    assert pool.get() == "environment"  # busy from now on
    served: list[tuple[int, str | None]] = []

    def caller(number: int) -> None:
        item = pool.get()
        served.append((number, item))
        pool.put("environment")

    threads = []
    for number in range(5):  # each starts waiting only after the one before it
        thread = threading.Thread(target=caller, args=(number,))
        thread.start()
        threads.append(thread)
        _wait_until(lambda: pool.waiting() == len(threads))
    pool.put("environment")  # goes to caller 0, who passes it to 1, and so on
    for thread in threads:
        thread.join(timeout=5)
    assert served == [(number, "environment") for number in range(5)]


def test_a_returned_item_goes_to_the_waiter_not_to_a_newcomer() -> None:
    pool: FairPool[str] = FairPool()
    got: list[str | None] = []
    waiter = threading.Thread(target=lambda: got.append(pool.get()))
    waiter.start()
    _wait_until(lambda: pool.waiting() == 1)
    pool.put("environment")
    assert pool.get(timeout=0) is None  # handed to the waiter already, even if it has not woken yet
    waiter.join(timeout=5)
    assert got == ["environment"]


def test_a_timed_out_caller_leaves_the_line() -> None:
    pool: FairPool[str] = FairPool()
    assert pool.get(timeout=0.01) is None
    assert pool.waiting() == 0
    pool.put("environment")
    assert pool.get(timeout=0) == "environment"
