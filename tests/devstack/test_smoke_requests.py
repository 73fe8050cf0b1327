"""make smoke's translation of a recorded API Gateway event back into the client's HTTP request."""

from __future__ import annotations

import pytest

from devstack.expectations import EXPECTED
from devstack.smoke import request_of
from tests.support import load_event

pytestmark = pytest.mark.unit


def test_the_stage_is_left_to_the_base_url_and_the_query_kept() -> None:
    request = request_of(load_event("health-deep.json"))
    assert (request.method, request.path, request.body) == ("GET", "/health?deep=true", b"")
    assert request_of(load_event("predict-seed-sam-local.json")).path == "/predict"  # no stage in it


def test_a_base64_body_is_sent_decoded_with_the_clients_headers_only() -> None:
    event = load_event("predict-base64-body.json")
    request = request_of(event)
    assert request.body == b'{"text": "This product is amazing, I loved it!"}'
    assert "host" not in request.headers and "x-forwarded-for" not in request.headers
    assert request.headers["content-type"].startswith("application/json")


def test_every_event_of_the_table_becomes_a_request() -> None:
    for name in EXPECTED:
        request = request_of(load_event(name))
        assert request.path.startswith("/") and not request.path.startswith("/prod/"), name
