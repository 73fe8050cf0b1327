"""schemathesis (every check) against the OpenAPI document the handler generates, on the running stack."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.stack import LocalStack

pytestmark = pytest.mark.devstack


def test_api_conforms_to_its_openapi_document(stack: LocalStack, tmp_path: Path) -> None:
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    assert st is not None, "schemathesis is not installed (make install)"
    result = subprocess.run(
        [st, "run", f"{stack.api_url}/openapi.json", "--checks", "all", "--max-examples", "60",
         "--request-timeout", "30", "--seed", "20261127", "--no-color"],
        capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:]
    assert "passed" in result.stdout
    assert "No issues found" in result.stdout
