"""`make overhead` end to end: a real local stack, its real logs, a few rounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.overhead import main, measure
from tests.support import EMBEDDED_MODEL

pytestmark = pytest.mark.bench


def test_the_split_comes_from_a_real_stack() -> None:
    result = measure(str(EMBEDDED_MODEL), rounds=3)
    assert result.rounds == 3
    parts = (result.client_to_api_ms, result.api_and_handler_ms, result.botocore_ms, result.server_in_stack_ms)
    assert all(part > 0 for part in parts), result
    assert result.server_direct_ms > 0 and result.client_to_server_ms > 0
    # Each part is a share of the whole as the client saw it (p50s of different lists: compare loosely).
    assert max(parts) < result.stack_ms
    assert result.server_direct_ms < result.direct_ms


def test_a_stack_that_does_not_start_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The stack's log is a temporary file: the error carries its last lines, not a pointer to it."""
    missing = tmp_path / "no-model"
    assert main(["--model", str(missing), "--rounds", "1"]) == 2
    error = capsys.readouterr().err
    assert "error: the model server exited with code 1" in error
    assert f"model not found: {missing}" in error
    assert "Traceback" not in error
