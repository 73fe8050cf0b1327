"""The request contract and the cold-start configuration, tested directly."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from handler.config import ConfigError, Settings
from handler.models import MAX_TEXT_CHARS, MAX_TEXTS, PredictRequest
from tests.support import function_env


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
    settings = Settings.from_env(function_env())
    assert settings.endpoint_name == "sentimentpulse-local"
    assert settings.max_attempts * (settings.connect_timeout + settings.read_timeout) < 25


def test_missing_settings_are_named() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"ENDPOINT_NAME": "x"})
    message = str(info.value)
    for name in ("SAGEMAKER_CONNECT_TIMEOUT", "SAGEMAKER_READ_TIMEOUT", "SAGEMAKER_MAX_ATTEMPTS"):
        assert name in message


def test_timeouts_that_outlive_api_gateway_are_refused() -> None:
    env = function_env() | {"SAGEMAKER_READ_TIMEOUT": "20", "SAGEMAKER_MAX_ATTEMPTS": "2"}
    with pytest.raises(ConfigError, match="below 29s"):
        Settings.from_env(env)
