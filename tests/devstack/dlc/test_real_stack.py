"""The served case table (tests/served_cases.py) through the Hugging Face DLC's real serving stack: every
recorded event, the bad-input corpus and the runtime cases get what they get from our model server."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pytest

from bench import dlc_start
from devstack.dlc import DlcContainer
from devstack.expectations import SEED
from tests.devstack.dlc.conftest import container_environment, serve
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


def serving_log(container: DlcContainer) -> str:
    assert container.run_dir is not None
    return "\n".join(p.read_text(errors="replace") for p in sorted((container.run_dir / "logs").glob("*.log")))


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


@pytest.mark.timeout(900)
def test_a_fast_path_installs_its_wheels_at_start_and_serves(fast_archive: Path, tmp_path: Path) -> None:
    environment = {**container_environment(InferenceVariant="onnx-fp32")}
    assert environment["SP_INFERENCE_VARIANT"] == "onnx-fp32"
    container = serve(fast_archive, tmp_path / "dlc", environment)
    try:
        assert container.private_env  # the archive's requirements.txt went into a fresh environment
        status, _, body = Http(container.url).post_json("/invocations", {"inputs": [SEED]})
        assert (status, body[0]["label"]) == (200, "POSITIVE")
        log = serving_log(container) + (tmp_path / "dlc" / "serving.log").read_text(errors="replace")
        assert "Successfully installed" in log and "onnxruntime" in log
        assert "variant=onnx-fp32" in log  # ONNX Runtime from the shipped wheels serves, not the PyTorch fallback
        print(json.dumps({"dlc_start_seconds_onnx_fp32": round(container.start_seconds or 0, 1)}))
    finally:
        container.stop()


def test_the_benchmarks_start_the_container_as_the_template_does() -> None:
    """make bench-start and bench-workers set the container's environment by hand (bench/ reads no
    template): it must be the template's, rendered at its defaults."""
    assert dlc_start.TEMPLATE_ENVIRONMENT.items() <= container_environment().items()
    assert "SP_INFERENCE_VARIANT" not in dlc_start.TEMPLATE_ENVIRONMENT  # unset: auto, the default
    assert container_environment()["SP_INFERENCE_VARIANT"] == "auto"
