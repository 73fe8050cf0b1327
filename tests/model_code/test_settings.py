"""settings.py: the model container's environment, read once."""

from __future__ import annotations

import pytest

from model.code import settings as code_settings
from model.code.settings import Settings

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("workers", "cpus", "threads"), [(None, 2, 2), ("1", 2, 2), ("2", 2, 1), ("2", 8, 4), ("4", 2, 1)]
)
def test_threads_share_the_cpus_among_the_model_servers_workers(
    monkeypatch: pytest.MonkeyPatch, workers: str | None, cpus: int, threads: int
) -> None:
    """workers x threads = CPUs: multi-model-server runs SAGEMAKER_MODEL_SERVER_WORKERS copies of model_fn."""
    monkeypatch.setattr(code_settings, "_host_threads", lambda: cpus)
    environ = {} if workers is None else {"SAGEMAKER_MODEL_SERVER_WORKERS": workers}
    assert Settings.from_env(environ).threads == threads


def test_settings_are_read_once_from_the_environment_given() -> None:
    settings = Settings.from_env(
        {"SP_INFERENCE_VARIANT": "onnx-int8", "SP_MAX_BATCH_SIZE": "8", "SP_NUM_THREADS": "3", "HF_MODEL_ID": " a/b "}
    )
    assert settings == Settings("onnx-int8", 8, 3, "a/b", None)
    assert settings.weights("/nowhere") == ("a/b", None)
    with pytest.raises(ValueError, match=r"holds no config\.json and HF_MODEL_ID is not set"):
        Settings.from_env({}).weights("/nowhere")
    with pytest.raises(ValueError, match="SP_NUM_THREADS must be an integer"):
        Settings.from_env({"SP_NUM_THREADS": "two"})
