"""Environment configuration, validated once at cold start (a bad deploy fails fast and loudly)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class ConfigError(RuntimeError):
    """The function's environment is incomplete or invalid."""


class Settings(BaseModel):
    """Every variable is required: the template sets them all, so nothing falls back silently."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    endpoint_name: str = Field(alias="ENDPOINT_NAME", min_length=1, max_length=63, pattern=r"^[A-Za-z0-9-]+$")
    connect_timeout: float = Field(alias="SAGEMAKER_CONNECT_TIMEOUT", gt=0, le=10)
    read_timeout: float = Field(alias="SAGEMAKER_READ_TIMEOUT", gt=0, le=28)
    max_attempts: int = Field(alias="SAGEMAKER_MAX_ATTEMPTS", ge=1, le=5)
    retry_mode: Literal["standard", "adaptive"] = Field(alias="SAGEMAKER_RETRY_MODE")

    @model_validator(mode="after")
    def _bounded(self) -> Settings:
        # API Gateway gives up after 30 s; every attempt must fit inside it, retries included.
        worst_case = self.max_attempts * (self.connect_timeout + self.read_timeout)
        if worst_case >= 29:
            raise ValueError(f"SAGEMAKER_MAX_ATTEMPTS x (CONNECT + READ timeout) = {worst_case:g}s must stay below 29s")
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
