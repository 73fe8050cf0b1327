"""Hugging Face PyTorch inference DLC image URIs, resolved offline by the sagemaker SDK (v3)."""

from __future__ import annotations

from typing import Any

FRAMEWORK = "huggingface"


class ImageError(Exception):
    pass


def _inference_config() -> dict[str, Any]:
    from sagemaker.core import image_uris

    config: dict[str, Any] = image_uris.config_for_framework(FRAMEWORK)["inference"]
    return config


def supported_versions() -> list[str]:
    return list(_inference_config()["versions"])


def base_framework(transformers_version: str) -> tuple[str, str]:
    """The newest PyTorch base (e.g. 'pytorch2.6.0') and its Python for a transformers version."""
    versions = _inference_config()["versions"]
    if transformers_version not in versions:
        raise ImageError(
            f"no Hugging Face inference DLC for transformers {transformers_version}; "
            f"known: {', '.join(list(versions)[-6:])}"
        )
    bases = [k for k in versions[transformers_version] if k.startswith("pytorch")]
    if not bases:
        raise ImageError(f"transformers {transformers_version} has no PyTorch inference image")
    base = max(bases, key=lambda b: tuple(int(p) for p in b.removeprefix("pytorch").split(".")))
    return base, versions[transformers_version][base]["py_versions"][-1]


def registries(transformers_version: str) -> dict[str, str]:
    base, _ = base_framework(transformers_version)
    result: dict[str, str] = _inference_config()["versions"][transformers_version][base]["registries"]
    return result


def image_uri(region: str, transformers_version: str = "4.51.3", device: str = "cpu") -> str:
    from sagemaker.core import image_uris

    if device not in ("cpu", "gpu"):
        raise ImageError("device must be cpu or gpu")
    base, py_version = base_framework(transformers_version)
    try:
        uri: str = image_uris.retrieve(
            framework=FRAMEWORK,
            region=region,
            version=transformers_version,
            base_framework_version=base,
            py_version=py_version,
            instance_type="ml.m5.xlarge" if device == "cpu" else "ml.g5.xlarge",
            image_scope="inference",
        )
    except ValueError as exc:
        raise ImageError(f"cannot resolve the image for region {region}: {exc}") from None
    return uri
