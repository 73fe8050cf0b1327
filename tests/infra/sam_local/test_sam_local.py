"""Every recorded event through `sam local start-lambda`, and the seed and a batch through
`sam local start-api`, judged by the same table as the unit tests (devstack.expectations)."""

from __future__ import annotations

import pytest

from devstack.expectations import EXPECTED
from devstack.sam_local import Row

pytestmark = pytest.mark.docker

API_CHECKS = ["start-api POST /predict seed", "start-api POST /predict batch"]


def test_every_event_and_api_check_ran(sam_local_rows: dict[str, Row]) -> None:
    assert sorted(sam_local_rows) == sorted([*EXPECTED, *API_CHECKS])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_event_through_sam_local_invoke(sam_local_rows: dict[str, Row], name: str) -> None:
    row = sam_local_rows[name]
    assert row.status == EXPECTED[name].status
    assert row.problem is None, row.problem


@pytest.mark.parametrize("check", API_CHECKS)
def test_start_api_over_http(sam_local_rows: dict[str, Row], check: str) -> None:
    row = sam_local_rows[check]
    assert (row.status, row.problem) == (200, None)
