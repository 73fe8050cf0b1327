"""The served case table (tests/served_cases.py) through the Hugging Face DLC's real serving stack: every
recorded event, the bad-input corpus and the runtime cases get what they get from our model server."""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

import pytest

from bench import dlc_start
from devstack.dlc import DlcContainer
from tests.devstack.dlc.conftest import container_environment, serving_log
from tests.served_cases import (  # noqa: F401 - collected here, with this tier's fixtures
    broken_api,
    broken_runtime_url,
    runtime_url,
    test_bad_input_corpus_over_http,
    test_failed_model_load_stays_healthy_and_answers_every_call_with_its_message,
    test_info_and_health_over_http,
    test_recorded_event_over_http,
    test_runtime_case,
    test_the_info_call_names_the_model_and_the_code_that_serves,
)
from tests.support import Http

pytestmark = pytest.mark.dlc


def test_the_toolkit_runs_our_inference_code_with_the_templates_workers(container: DlcContainer) -> None:
    log = serving_log(container)
    assert "Inference script implementation found at `inference`" in log
    workers = container_environment()["SAGEMAKER_MODEL_SERVER_WORKERS"]
    loaded = [line for line in log.splitlines() if "model loaded: code sha256=" in line]
    assert len({line.split("W-")[1].split("-")[0] for line in loaded}) == int(workers)  # one load per worker
    assert all("variant=fp32" in line for line in loaded)


def test_info_names_the_inference_code_in_the_archive(fp32_archive: Path, api: Http) -> None:
    """GET /info's inference_sha256 is the sha256 of the code/inference.py the archive ships."""
    with tarfile.open(fp32_archive) as archive:
        member = archive.extractfile("code/inference.py")
        assert member is not None
        shipped = hashlib.sha256(member.read()).hexdigest()
    assert api.get_json("/info")["code"]["inference_sha256"] == shipped


def test_the_benchmarks_start_the_container_as_the_template_does() -> None:
    """make bench-start and bench-workers set the container's environment by hand (bench/ reads no
    template): it must be the template's, rendered at its defaults."""
    assert dlc_start.TEMPLATE_ENVIRONMENT.items() <= container_environment().items()
    assert "SP_INFERENCE_VARIANT" not in dlc_start.TEMPLATE_ENVIRONMENT  # unset: auto, the default
    assert container_environment()["SP_INFERENCE_VARIANT"] == "auto"
