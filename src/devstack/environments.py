"""Lambda execution environments for the local API: one process each, one event at a time.

Each environment is a spawned process that imports ``handler.app`` once (its cold start) and then
answers events over its own pipe. A caller checks an idle environment out (callers take turns in
the order they came: ``FairPool``), sends the event, reads the result and checks it back in: one
pickle each way and no scheduler thread in between, which is
the cheapest hop between two processes (``concurrent.futures``' process pool adds a queue-feeder and
a result thread to every call). An environment whose process dies mid-event (a crash, the OOM
killer) is replaced by a fresh one, as Lambda would start, and that one event fails.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import traceback
from collections import deque
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

from devstack.lambda_env import TIMEOUT_VARIABLE, LambdaContext


class FunctionError(Exception):
    """The function raised, or its process died, while handling the event (API Gateway: 500)."""


T = TypeVar("T")


class FairPool(Generic[T]):
    """Idle items handed out first come, first served: a returned item goes straight to the longest
    waiting caller, and a new caller never takes it ahead of one already waiting (why not a plain queue:
    docs/decisions/fair-pool.md)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: deque[T] = deque()
        self._waiting: deque[tuple[threading.Event, list[T]]] = deque()

    def get(self, timeout: float | None = None) -> T | None:
        """An idle item, after every caller that came earlier; None if ``timeout`` passes first."""
        slot: list[T]
        with self._lock:
            if self._idle:  # nobody is waiting whenever an item is idle
                return self._idle.popleft()
            ready, slot = threading.Event(), []  # slot: the item, once handed over
            self._waiting.append((ready, slot))
        if ready.wait(timeout):
            return slot[0]
        with self._lock:
            if slot:  # handed over just as the wait ended: give it on
                self._give(slot[0])
            else:
                self._waiting.remove((ready, slot))
        return None

    def put(self, item: T) -> None:
        with self._lock:
            self._give(item)

    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)

    def _give(self, item: T) -> None:
        if self._waiting:
            ready, slot = self._waiting.popleft()
            slot.append(item)
            ready.set()
        else:
            self._idle.append(item)


def _die_with_parent() -> None:
    """Linux: the kernel sends SIGTERM to this process if the API process dies, however it dies."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _environment(conn: Connection, environment: dict[str, str]) -> None:
    """The process body: cold start, then one event at a time until the pipe closes."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    os.environ.update(environment)
    from handler.app import lambda_handler

    timeout = float(environment[TIMEOUT_VARIABLE])
    conn.send(os.getpid())  # ready
    while True:
        try:
            event = conn.recv()
        except EOFError:
            return
        try:
            # As Lambda: a context per invocation (its own request id, its deadline from now).
            conn.send((True, lambda_handler(event, LambdaContext(timeout))))
        except Exception as exc:  # as Lambda: the traceback goes to the function's log, the caller gets a 500
            traceback.print_exc()
            conn.send((False, f"{type(exc).__name__}: {exc}"))


class _Process:
    def __init__(self, environment: dict[str, str]) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_environment, args=(child, environment), daemon=True)
        self.process.start()
        child.close()

    def wait_ready(self) -> None:
        try:
            self.conn.recv()
        except EOFError:
            raise RuntimeError(f"a Lambda environment failed its cold start (exit code {self.exit_code()})") from None

    def invoke(self, event: dict[str, Any]) -> tuple[bool, Any]:
        self.conn.send(event)
        answer: tuple[bool, Any] = self.conn.recv()
        return answer

    def exit_code(self) -> int | None:
        self.process.join(timeout=5)
        return self.process.exitcode

    def close(self) -> None:
        self.conn.close()  # the process sees EOF and returns
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


class Environments:
    """``count`` environments, all started (cold) before the first event."""

    def __init__(self, environment: dict[str, str], count: int) -> None:
        self._environment = environment
        self._closed = False
        self._all = [_Process(environment) for _ in range(count)]
        self._idle: FairPool[_Process] = FairPool()
        for process in self._all:
            process.wait_ready()
            self._idle.put(process)

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """The function's result for ``event``; waits its turn for an idle environment. Raises FunctionError."""
        process = self._idle.get()
        assert process is not None  # no timeout: get waits until one is free
        try:
            ok, result = process.invoke(event)
        except (EOFError, OSError):  # the process died mid-event: a fresh environment takes its place
            exit_code = process.exit_code()
            self._replace(process)
            raise FunctionError(f"the environment's process died (exit code {exit_code})") from None
        self._idle.put(process)
        if not ok:
            raise FunctionError(result)
        answer: dict[str, Any] = result
        return answer

    def _replace(self, dead: _Process) -> None:
        """Start a fresh environment in the dead one's place; it takes events once its cold start is done
        (the failed event is answered at once, not after that cold start)."""
        dead.close()
        if self._closed:
            return
        fresh = _Process(self._environment)
        self._all[self._all.index(dead)] = fresh

        def when_ready() -> None:
            try:
                fresh.wait_ready()
            finally:  # even a failed cold start goes back: its next event fails fast instead of waiting forever
                self._idle.put(fresh)

        threading.Thread(target=when_ready, name="environment-cold-start", daemon=True).start()

    def close(self) -> None:
        self._closed = True
        for process in self._all:
            process.close()
