"""make smoke, offline: the same checking code a deployed stack gets, against the local stack's URL."""

from __future__ import annotations

import os
import subprocess

import pytest

from devstack.expectations import EXPECTED
from devstack.stack import LocalStack
from tests.support import ROOT, make_env

pytestmark = pytest.mark.devstack


def make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True, timeout=600,
        env=make_env(env),
    )  # fmt: skip


def test_make_smoke_passes_every_event_against_the_local_stack(stack: LocalStack) -> None:
    result = make("smoke", f"BASE_URL={stack.api_url}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("HTTP ")]
    assert len(rows) == len(EXPECTED) and all(line.endswith("ok") for line in rows)
    assert f"{len(EXPECTED)} checks against {stack.api_url}, 0 mismatches" in result.stdout


def test_make_smoke_fails_on_the_wrong_api(stack: LocalStack) -> None:
    """The model server is not the API: every event must come back as a mismatch, and the exit code says so."""
    result = make("smoke", f"BASE_URL={stack.model_url}")
    assert result.returncode != 0
    assert f"{len(EXPECTED)} mismatches" in result.stdout or "MISMATCH" in result.stdout


def test_make_smoke_on_a_stack_without_credentials_says_what_is_missing_in_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",  # no instance metadata lookup either
    }
    result = make("smoke", "STACK=sentimentpulse", env=env)
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if not line.startswith("make:")]
    assert ours == [
        "error: no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), "
        "or smoke-test a local stack with BASE_URL=http://127.0.0.1:3000"
    ]
    for target in ("outputs", "sync", "logs"):  # every target that calls AWS stops the same way, first
        other = make(target, env=env)
        assert [line for line in other.stderr.splitlines() if not line.startswith("make:")] == ours, target
