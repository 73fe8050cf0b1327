"""The request contract and the cold-start configuration, tested directly."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from devstack.lambda_env import function_environment
from handler.config import ConfigError, Settings
from handler.contract import MAX_TEXT_CHARS, MAX_TEXTS, PredictRequest

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "body",
    [
        {"text": "ok"},
        {"text": "I ❤️ this 😀"},
        {"text": "ممتاز جدا"},
        {"text": "zero\u200bwidth joiner"},
        {"text": "tab\tand\nnewlines\r"},
        {"text": "x" * MAX_TEXT_CHARS},
        {"texts": ["a"] * MAX_TEXTS},
    ],
)
def test_valid_requests(body: dict[str, object]) -> None:
    request = PredictRequest.model_validate(body)
    assert request.as_texts() == ([body["text"]] if "text" in body else body["texts"])


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": ""},
        {"text": "   \n\t"},
        {"text": "\u200b\u200d"},
        {"text": "nul\x00byte"},
        {"text": "bell\x07"},
        {"text": "\ud800"},
        {"text": None},
        {"text": 42},
        {"text": ["a"]},
        {"text": {"nested": "x"}},
        {"text": "x" * (MAX_TEXT_CHARS + 1)},
        {"texts": []},
        {"texts": ["a"] * (MAX_TEXTS + 1)},
        {"texts": ["ok", ""]},
        {"texts": "not a list"},
        {"text": "a", "texts": ["b"]},
        {"text": "a", "extra": 1},
    ],
)
def test_invalid_requests(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        PredictRequest.model_validate(body)


def test_settings_from_the_sam_local_env_file() -> None:
    settings = Settings.from_env(function_environment())
    assert settings.endpoint_name == "sentimentpulse-local"
    assert settings.function_timeout == 25
    assert settings.max_attempts * (settings.connect_timeout + settings.read_timeout) <= settings.function_timeout - 1


def test_missing_settings_are_named() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"ENDPOINT_NAME": "x"})
    message = str(info.value)
    for name in ("SAGEMAKER_CONNECT_TIMEOUT", "SAGEMAKER_READ_TIMEOUT", "SAGEMAKER_MAX_ATTEMPTS"):
        assert name in message


def test_timeouts_that_outlive_api_gateway_are_refused() -> None:
    env = function_environment() | {"SAGEMAKER_READ_TIMEOUT": "20", "SAGEMAKER_MAX_ATTEMPTS": "2"}
    with pytest.raises(ConfigError, match="exceeds FUNCTION_TIMEOUT_SECONDS"):
        Settings.from_env(env)


def test_timeout_check_uses_the_functions_own_timeout() -> None:
    # 2 x (1 + 12) s + 0.5 s backoff = 26.5 s: inside API Gateway's 30 s, but past the function's 25 s.
    # The old check against 29 s let this through, and the request then died as a bare Lambda timeout.
    env = function_environment() | {
        "FUNCTION_TIMEOUT_SECONDS": "25",
        "SAGEMAKER_READ_TIMEOUT": "12",
        "SAGEMAKER_MAX_ATTEMPTS": "2",
    }
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert "26.5s exceeds FUNCTION_TIMEOUT_SECONDS (25s)" in str(info.value)
    # The same SageMaker settings fit a function allowed 28 s.
    assert Settings.from_env(env | {"FUNCTION_TIMEOUT_SECONDS": "28"}).read_timeout == 12


def test_function_timeout_is_required_and_below_api_gateway() -> None:
    env = function_environment()
    with pytest.raises(ConfigError, match="FUNCTION_TIMEOUT_SECONDS"):
        Settings.from_env({k: v for k, v in env.items() if k != "FUNCTION_TIMEOUT_SECONDS"})
    with pytest.raises(ConfigError, match="FUNCTION_TIMEOUT_SECONDS"):
        Settings.from_env(env | {"FUNCTION_TIMEOUT_SECONDS": "30"})
