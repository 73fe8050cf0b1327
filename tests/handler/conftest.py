"""The handler in-process, with botocore's Stubber on the real client (unit cost: no sockets)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from devstack.lambda_env import function_environment


@pytest.fixture(scope="session")
def handler_app() -> Any:
    """Import the handler module once, with the environment `sam local` would give it."""
    env = function_environment()
    env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = "http://127.0.0.1:9"  # never reached: Stubber answers
    env.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    from handler import app

    yield app
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def stubber(handler_app: Any) -> Iterator[Stubber]:
    with Stubber(handler_app.endpoint._client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def log_stream(handler_app: Any) -> Iterator[io.StringIO]:
    """The Powertools handler writes to the stream it had at import; point it at a buffer."""
    buffer = io.StringIO()
    previous = handler_app.logger.registered_handler.setStream(buffer)
    yield buffer
    handler_app.logger.registered_handler.setStream(previous)
