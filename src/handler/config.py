"""Environment configuration, validated once at cold start (a bad deploy fails fast and loudly)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

API_GATEWAY_TIMEOUT_S = 30  # HTTP APIs stop waiting for the integration after 30 s
ANSWER_MARGIN_S = 1.0  # time kept after the last SageMaker wait to build and return the error envelope
MAX_BACKOFF_S = 0.5  # the adapter's jittered wait between attempts (endpoint.py)


class ConfigError(RuntimeError):
    """The function's environment is incomplete or invalid."""


class Settings(BaseModel):
    """Every variable is required: the template sets them all, so nothing falls back silently."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    endpoint_name: str = Field(alias="ENDPOINT_NAME", min_length=1, max_length=63, pattern=r"^[A-Za-z0-9-]+$")
    # The template sets the function's Timeout and this variable from one parameter.
    function_timeout: float = Field(alias="FUNCTION_TIMEOUT_SECONDS", gt=0, lt=API_GATEWAY_TIMEOUT_S)
    connect_timeout: float = Field(alias="SAGEMAKER_CONNECT_TIMEOUT", gt=0, le=10)
    read_timeout: float = Field(alias="SAGEMAKER_READ_TIMEOUT", gt=0, le=28)
    max_attempts: int = Field(alias="SAGEMAKER_MAX_ATTEMPTS", ge=1, le=5)
    retry_mode: Literal["standard", "adaptive"] = Field(alias="SAGEMAKER_RETRY_MODE")

    @model_validator(mode="after")
    def _bounded(self) -> Settings:
        # Every attempt, retries included, must end early enough for the function to answer with its
        # error envelope before its own timeout (a bare Lambda timeout reaches the client as a 503
        # without our envelope); the function's timeout is below API Gateway's 30 s.
        # Counted as if every attempt waited the full read timeout, plus the backoff between attempts.
        worst_case = self.max_attempts * (self.connect_timeout + self.read_timeout)
        worst_case += (self.max_attempts - 1) * MAX_BACKOFF_S
        budget = self.function_timeout - ANSWER_MARGIN_S
        if worst_case > budget:
            raise ValueError(
                f"SAGEMAKER_MAX_ATTEMPTS x (SAGEMAKER_CONNECT_TIMEOUT + SAGEMAKER_READ_TIMEOUT) + backoff = "
                f"{worst_case:g}s exceeds FUNCTION_TIMEOUT_SECONDS ({self.function_timeout:g}s) minus "
                f"{ANSWER_MARGIN_S:g}s to answer"
            )
        return self

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        try:
            return cls.model_validate(dict(env))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
            )
            raise ConfigError(f"invalid function environment: {problems}") from None
