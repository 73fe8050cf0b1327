"""A small version of `make load` against the session's local stack: no errors, nothing lost or mixed up."""

from __future__ import annotations

from devstack.load import run_load
from devstack.stack import LocalStack


def test_small_load_run(stack: LocalStack) -> None:
    result = run_load(stack, requests=400, concurrency=16, max_seconds=300)
    summary = result.summary()
    assert summary["requests"] == 400, summary
    assert summary["errors"] == 0, summary
    assert summary["mismatches"] == 0, summary
    assert summary["texts"] > summary["requests"]  # batches were in the mix
    assert result.rss_growth() < 0.10, summary
    assert stack.alive()
