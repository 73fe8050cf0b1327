"""Template tier: the deploy path, offline. Tools come from .venv-tools (see requirements-tools.txt)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from tests.support import ROOT


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    parsed, matches = decode(str(ROOT / "template.yaml"))
    assert not matches, matches
    assert parsed is not None
    return dict(parsed)


@pytest.fixture(scope="session")
def tool_env() -> dict[str, str]:
    return {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"}


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
