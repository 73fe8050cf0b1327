"""`make overhead` end to end: a real local stack, its real logs, a few rounds."""

from __future__ import annotations

from devstack.overhead import measure
from tests.support import EMBEDDED_MODEL


def test_the_split_comes_from_a_real_stack() -> None:
    result = measure(str(EMBEDDED_MODEL), rounds=3)
    assert result.rounds == 3
    parts = (result.client_to_api_ms, result.api_and_handler_ms, result.botocore_ms, result.server_in_stack_ms)
    assert all(part > 0 for part in parts), result
    assert result.server_direct_ms > 0 and result.client_to_server_ms > 0
    # Each part is a share of the whole as the client saw it (p50s of different lists: compare loosely).
    assert max(parts) < result.stack_ms
    assert result.server_direct_ms < result.direct_ms
