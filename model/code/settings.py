"""The model container's environment, read once by ``inference.model_fn``. Ships in ``code/``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

if __package__:  # the project imports model.code.settings
    from . import backends
else:  # the DLC puts code/ on sys.path and imports these files as top-level modules
    import backends  # type: ignore[no-redef]


def _env_int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _host_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Settings:
    """The model container's environment, checked once by ``model_fn`` (a bad value fails the load)."""

    variant: str  # SP_INFERENCE_VARIANT: auto (default: the fastest the archive holds, timed at load) or a
    # name in backends.VARIANTS (a graph variant whose graph or runtime is missing serves as fp32, logged)
    batch_size: int  # SP_MAX_BATCH_SIZE: per forward pass; 0 = the variant's (packed rows where PyTorch packs)
    threads: int  # SP_NUM_THREADS: intra-op threads; default CPUs // SAGEMAKER_MODEL_SERVER_WORKERS
    hub_id: str  # HF_MODEL_ID: the weights when the archive holds none (hub-direct mode)
    hub_revision: str | None  # HF_MODEL_REVISION: the commit of HF_MODEL_ID
    # SP_OPENVINO_PRECISION (openvino-int8 only) is read where it is used: backends.openvino_logits.

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        variant = env.get("SP_INFERENCE_VARIANT", "").strip() or backends.AUTO
        if variant != backends.AUTO and variant not in backends.VARIANTS:
            choices = (backends.AUTO, *backends.VARIANTS)
            raise ValueError(f"SP_INFERENCE_VARIANT must be one of {choices}, got {variant!r}")
        workers = _env_int(env, "SAGEMAKER_MODEL_SERVER_WORKERS", 1, 1, 512)
        return cls(
            variant=variant,
            batch_size=_env_int(env, "SP_MAX_BATCH_SIZE", 0, 1, 1024),
            threads=_env_int(env, "SP_NUM_THREADS", max(1, _host_threads() // workers), 1, 512),
            hub_id=env.get("HF_MODEL_ID", "").strip(),
            hub_revision=env.get("HF_MODEL_REVISION", "").strip() or None,
        )

    def weights(self, model_dir: str) -> tuple[str, str | None]:
        """(source, revision): the archive root when it holds a model, else HF_MODEL_ID at HF_MODEL_REVISION."""
        if os.path.isfile(os.path.join(model_dir, "config.json")):
            return model_dir, None
        if not self.hub_id:
            raise ValueError(f"{model_dir} holds no config.json and HF_MODEL_ID is not set: no weights to load")
        return self.hub_id, self.hub_revision
