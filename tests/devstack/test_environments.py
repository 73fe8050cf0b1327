"""devstack.environments: the local API's Lambda environments (processes), their hop and their crashes."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from devstack.environments import Environments, FunctionError
from devstack.lambda_env import function_environment
from tests.support import load_event

pytestmark = pytest.mark.devstack


@pytest.fixture(scope="module")
def environments() -> Iterator[Environments]:
    # Only routing answers are asked for: the model URL is never reached.
    running = Environments(function_environment({"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": "http://127.0.0.1:9"}), 1)
    yield running
    running.close()


def test_an_environment_answers_events_in_its_own_process(environments: Environments) -> None:
    result = environments.invoke(load_event("unknown-path.json"))
    assert result["statusCode"] == 404
    (process,) = environments._all
    assert process.process.pid != os.getpid() and process.process.is_alive()


def test_a_function_exception_is_a_function_error_and_the_environment_lives_on(environments: Environments) -> None:
    with pytest.raises(FunctionError, match=r"KeyError|TypeError|AttributeError"):
        environments.invoke({"not": "an API Gateway event"})
    assert environments.invoke(load_event("unknown-path.json"))["statusCode"] == 404


def test_a_dead_environment_fails_its_event_and_is_replaced(environments: Environments) -> None:
    (process,) = environments._all
    assert process.process.pid is not None
    os.kill(process.process.pid, signal.SIGKILL)
    process.process.join(timeout=10)
    with pytest.raises(FunctionError, match="died"):
        environments.invoke(load_event("unknown-path.json"))
    (replacement,) = environments._all
    assert replacement is not process and replacement.process.is_alive()
    assert environments.invoke(load_event("unknown-path.json"))["statusCode"] == 404
