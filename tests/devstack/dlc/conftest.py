"""Real-stack tier: make package-model's archives served by the Hugging Face DLC's own serving stack
(sagemaker-huggingface-inference-toolkit + multi-model-server from .venv-dlc, on Java), with the
template's container environment, behind the SageMaker runtime front and the local API."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from devstack.dlc import DlcContainer, free_mms_port, python_version
from devstack.stack import LocalStack, free_port
from tests.infra.render import render
from tests.served_cases import BROKEN_VARIANT
from tests.support import EMBEDDED_MODEL, ROOT, SHARED_DATA, Http

# The toolkit and MMS need several seconds to start; an archive with code/requirements.txt installs it first.
START_TIMEOUT_S = 600


def container_environment(**overrides: str) -> dict[str, str]:
    """What template.yaml gives the SageMaker container in packaged mode, at the template's defaults."""
    parsed, _ = decode(str(ROOT / "template.yaml"))
    rendered = render(dict(parsed or {}), {"ModelDataUrl": "s3://bucket/key/model.tar.gz", **overrides})
    environment: dict[str, Any] = rendered.props("SageMakerModel")["PrimaryContainer"]["Environment"]
    return {name: str(value) for name, value in environment.items()}


def package(out: Path, *args: str) -> Path:
    """``make package-model``'s command, for the embedded model."""
    command = [sys.executable, "-m", "model.packaging", "package", "--model", str(EMBEDDED_MODEL), "--out", str(out)]
    args = args or ("--variant", "fp32")
    result = subprocess.run([*command, *args], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return out


def serve(archive: Path, run_dir: Path, environment: dict[str, str]) -> DlcContainer:
    run_dir.mkdir(parents=True, exist_ok=True)
    log = (run_dir / "serving.log").open("wb")
    container = DlcContainer(archive, free_mms_port(), run_dir=run_dir, environment=environment, log=log)
    return container.start(timeout=START_TIMEOUT_S)


def serving_log(container: DlcContainer) -> str:
    """The model server's own logs (MMS's, with the workers' lines)."""
    assert container.run_dir is not None
    return "\n".join(p.read_text(errors="replace") for p in sorted((container.run_dir / "logs").glob("*.log")))


def front(container: DlcContainer, run_dir: Path) -> LocalStack:
    log = (run_dir / "stack.log").open("wb")
    stack = LocalStack(api_port=free_port(), model_port=free_port(), concurrency=2, log=log, upstream=container.url)
    return stack.start()


@pytest.fixture(scope="session")
def fp32_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package(tmp_path_factory.mktemp("fp32") / "model.tar.gz")


@pytest.fixture(scope="session")
def container(fp32_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DlcContainer]:
    running = serve(fp32_archive, tmp_path_factory.mktemp("dlc-fp32"), container_environment())
    yield running
    running.stop()


@pytest.fixture(scope="session")
def stack(container: DlcContainer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    running = front(container, tmp_path_factory.mktemp("front"))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def api(stack: LocalStack) -> Http:
    return Http(stack.api_url)


@pytest.fixture(scope="module")
def broken_stack(fp32_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    environment = {**container_environment(), "SP_INFERENCE_VARIANT": BROKEN_VARIANT}
    container = serve(fp32_archive, tmp_path_factory.mktemp("dlc-broken"), environment)
    try:
        running = front(container, tmp_path_factory.mktemp("broken-front"))
        yield running
        running.stop()
    finally:
        container.stop()


@pytest.fixture(scope="module")
def fast_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """onnx-fp32: the quickest variant to gate on the embedded model, with ONNX Runtime installed in code/
    for this tier's Python (.venv-dlc's), not the DLC's 3.12."""
    out = tmp_path_factory.mktemp("onnx-fp32") / "model.tar.gz"
    parity = SHARED_DATA / "sst2" / "dev.tsv"
    return package(out, "--variant", "onnx-fp32", "--parity-data", str(parity), "--dlc-python", python_version())
