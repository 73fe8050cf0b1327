"""The served case table (tests/served_cases.py) through the local stack, on our model server: the
stand-in the real-stack tier (tests/devstack/dlc) holds to the same table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.expectations import SEED
from devstack.stack import LocalStack
from tests.served_cases import (  # noqa: F401 - collected here, with this tier's fixtures
    BROKEN_VARIANT,
    CANARY,
    broken_api,
    broken_runtime_url,
    runtime_url,
    test_bad_input_corpus_over_http,
    test_failed_model_load_stays_healthy_and_answers_every_call_with_its_message,
    test_info_and_health_over_http,
    test_recorded_event_over_http,
    test_runtime_case,
    test_the_info_call_names_the_model_and_the_code_that_serves,
)
from tests.support import Http, start_stack

pytestmark = pytest.mark.devstack


@pytest.fixture(scope="module")
def broken_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    running = start_stack(tmp_path_factory.mktemp("broken"), model_env={"SP_INFERENCE_VARIANT": BROKEN_VARIANT})
    yield running
    running.stop()


def test_failed_load_is_reported_and_the_stack_stays_up(broken_stack: LocalStack) -> None:
    error = broken_stack.load_error()
    assert error is not None and "SP_INFERENCE_VARIANT must be one of" in error
    assert broken_stack.alive()


def test_stack_still_serves_and_logged_no_request_text(api: Http, stack: LocalStack) -> None:
    """Last in this module: after the corpus and every event went through."""
    status, _, body = api.post_json("/predict", {"text": SEED})
    assert status == 200
    assert body[0]["label"] == "POSITIVE"
    assert stack.alive()
    assert stack.log is not None
    stack.log.flush()
    logs = Path(stack.log.name).read_text(encoding="utf-8", errors="replace")
    assert '"correlation_id"' in logs  # the function's logs are in there
    assert CANARY not in logs
