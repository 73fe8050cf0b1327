"""Fault injection through the local stack: every upstream fault is a bounded, honest 5xx."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.expectations import SEED
from devstack.stack import LocalStack
from tests.support import Http, start_stack

pytestmark = pytest.mark.devstack

SEED_BODY = {"text": SEED}
READ_TIMEOUT_S = 1
# botocore: 2 attempts x (1 s connect + 1 s read) plus backoff; the answer must come well within this.
BOUND_S = 8


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    stack = start_stack(
        tmp_path_factory.mktemp("faults"),
        fault_injection=True,
        function_env={"SAGEMAKER_READ_TIMEOUT": str(READ_TIMEOUT_S), "SAGEMAKER_CONNECT_TIMEOUT": "1"},
    )
    yield stack
    stack.stop()


@pytest.fixture
def api(faulty: LocalStack) -> Iterator[Http]:
    model = Http(faulty.model_url)
    yield Http(faulty.api_url)
    if faulty.model_server is not None and faulty.model_server.poll() is None:
        assert model.post_json("/_local/fault", {"mode": "none"})[0] == 200


def inject(stack: LocalStack, mode: str, delay_s: float = 0) -> None:
    status, _, _ = Http(stack.model_url).post_json("/_local/fault", {"mode": mode, "delay_s": delay_s})
    assert status == 200


def timed_predict(api: Http) -> tuple[int, dict[str, str], dict[str, object], float]:
    started = time.monotonic()
    status, headers, body = api.post_json("/predict", SEED_BODY, timeout=30)
    return status, headers, body, time.monotonic() - started


def assert_clean_error(body: dict[str, object], code: str) -> None:
    error = body["error"]
    assert isinstance(error, dict)
    assert error["code"] == code
    text = str(body)
    for leak in ("Traceback", "botocore", "Exception", "127.0.0.1", ".py"):
        assert leak not in text


@pytest.mark.parametrize(
    ("mode", "status", "code"),
    [
        ("error", 502, "MODEL_ERROR"),
        ("garbage", 502, "MODEL_RESPONSE_INVALID"),
        ("wrong-schema", 502, "MODEL_RESPONSE_INVALID"),
    ],
)
def test_model_failures_are_502(faulty: LocalStack, api: Http, mode: str, status: int, code: str) -> None:
    inject(faulty, mode)
    got, _, body, elapsed = timed_predict(api)
    assert got == status
    assert_clean_error(body, code)
    assert elapsed < BOUND_S


def test_slow_model_is_504_within_the_bound_and_never_sent_twice(faulty: LocalStack, api: Http) -> None:
    model = Http(faulty.model_url)
    before = model.get_json("/_local/stats")["invocations"]
    inject(faulty, "none", delay_s=READ_TIMEOUT_S + 2)
    status, _, body, elapsed = timed_predict(api)
    assert status == 504
    assert_clean_error(body, "MODEL_TIMEOUT")
    assert elapsed < BOUND_S
    # A read timeout means the model was computing: a retry would do that work again.
    assert model.get_json("/_local/stats")["invocations"] - before == 1


def test_throttled_model_is_503_with_retry_after_after_bounded_retries(faulty: LocalStack, api: Http) -> None:
    model = Http(faulty.model_url)
    before = model.get_json("/_local/stats")
    inject(faulty, "throttle")
    status, headers, body, elapsed = timed_predict(api)
    assert status == 503
    assert headers["retry-after"] == "2"
    assert_clean_error(body, "MODEL_THROTTLED")
    assert elapsed < BOUND_S
    after = model.get_json("/_local/stats")
    assert after["invocations"] - before["invocations"] == 2  # SAGEMAKER_MAX_ATTEMPTS: one retry, then give up
    assert after["model_calls"] == before["model_calls"]  # throttled calls never reach the model


def test_model_server_down_is_503_then_recovers(faulty: LocalStack, api: Http, tmp_path: Path) -> None:
    faulty.stop_model_server()
    status, headers, body, elapsed = timed_predict(api)
    assert status == 503
    assert headers["retry-after"] == "5"
    assert_clean_error(body, "MODEL_UNAVAILABLE")
    assert elapsed < BOUND_S

    faulty.start_model_server()
    status, _, body, _ = timed_predict(api)
    assert status == 200
    assert body[0]["label"] == "POSITIVE"  # type: ignore[index]


def test_the_api_keeps_serving_after_faults(faulty: LocalStack, api: Http) -> None:
    for mode, status, code in (
        ("error", 502, "MODEL_ERROR"),
        ("garbage", 502, "MODEL_RESPONSE_INVALID"),
        ("throttle", 503, "MODEL_THROTTLED"),
    ):
        inject(faulty, mode)
        answered, _, body, _ = timed_predict(api)
        assert answered == status, mode
        assert_clean_error(body, code)
    inject(faulty, "none")
    assert timed_predict(api)[0] == 200
