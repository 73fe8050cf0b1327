"""A small version of `make load` against the session's local stack: no errors, nothing lost or mixed up."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import knee
from bench.load import run_load
from devstack.stack import LocalStack

pytestmark = pytest.mark.bench


def test_small_load_run(stack: LocalStack) -> None:
    result = run_load(stack, requests=400, concurrency=16, max_seconds=300)
    summary = result.summary()
    assert summary["requests"] == 400, summary
    assert summary["errors"] == 0, summary
    assert summary["mismatches"] == 0, summary
    assert summary["texts"] > summary["requests"]  # batches were in the mix
    assert result.rss_growth() < 0.10, summary
    assert stack.alive()


def test_knee_sweep_reports_each_level(stack: LocalStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(knee, "LEVELS", (1, 4))
    rows = knee.sweep(stack, per_level=20, max_seconds=60)
    assert [r["concurrency"] for r in rows] == [1, 4]
    assert all(r["requests"] == 20 and r["errors"] == 0 and r["mismatches"] == 0 for r in rows)
    assert all(r["requests_per_s"] > 0 and r["p99_ms"] >= r["p50_ms"] > 0 for r in rows)
    text = knee.table(rows, environments=2)
    assert text.count("\n| ") == 3 and "| shed % |" in text
    knee.chart(rows, tmp_path / "knee.png")
    assert (tmp_path / "knee.png").stat().st_size > 1000
