"""What the local DLC container's processes see: the template's settings, never this process's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.dlc import DLC_VENV, DlcContainer, python_version

pytestmark = pytest.mark.unit


def test_model_settings_reach_the_container_only_through_its_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A setting left in this process (the gate once left SP_INFERENCE_VARIANT behind, and make bench-start
    then measured a pinned variant instead of auto) must not reach the serving stack."""
    monkeypatch.setenv("SP_INFERENCE_VARIANT", "openvino-int8")
    monkeypatch.setenv("SP_NUM_THREADS", "1")
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    monkeypatch.setenv("HOME", "/home/someone")
    container = DlcContainer(tmp_path / "model.tar.gz", 20000, environment={"SP_MAX_BATCH_SIZE": "8"})
    env = container.process_environment(DLC_VENV, tmp_path / "tmp")
    assert {k for k in env if k.startswith(("SP_", "PYTHON"))} == {"SP_MAX_BATCH_SIZE"}
    assert env["HOME"] == "/home/someone" and env["TMPDIR"] == str(tmp_path / "tmp")
    assert env["PATH"].split(":")[0] == str(DLC_VENV / "bin")


def test_archives_served_here_are_built_for_the_dlc_environments_python() -> None:
    version = python_version()
    assert version.count(".") == 1 and version.split(".")[0] == "3"
    assert (DLC_VENV / "lib" / f"python{version}").is_dir()
