"""python -m model.packaging: package a model for SageMaker, resolve DLC images, hand off to sam deploy."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from model.code.backends import GRAPHS
from model.code.inference import DEFAULT_VARIANT, VARIANT_NAMES
from model.packaging import graphs, manifest, openvino_export, parity, wheels
from model.packaging.archive import ModelDirError, build_archive, build_code_archive, validate_model_dir
from model.packaging.image import ImageError, image_uri
from model.packaging.parity import REFERENCE
from model.packaging.samconfig import SamConfigError, format_overrides, read_overrides, set_override
from model.packaging.upload import UploadError, upload
from model.packaging.wheels import WheelError
from model.source import HUB_ID, ModelSourceError, fetch_from_hub
from model.training.data import DataError, read_tsv

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_OUT = ROOT / "build" / "model" / "model.tar.gz"


def cmd_package(args: argparse.Namespace) -> int:
    source = Path(args.model)
    if not source.exists() and HUB_ID.match(args.model):
        source = fetch_from_hub(args.model, args.revision)
    validate_model_dir(source, load=not args.no_load_check)
    if args.variant != REFERENCE and args.parity_data is None:
        print(
            f"error: --variant {args.variant} needs --parity-data (SST-2 dev.tsv): "
            "a path other than fp32 ships only after the parity gate",
            file=sys.stderr,
        )
        return 2
    if args.variant == openvino_export.PATH and args.calibration_data is None:
        print(
            f"error: --variant {args.variant} needs --calibration-data (SST-2 train.tsv): "
            "its static int8 quantization is calibrated on those sentences",
            file=sys.stderr,
        )
        return 2
    calibration = calibration_texts(args.calibration_data) if args.variant == openvino_export.PATH else []
    with tempfile.TemporaryDirectory() as tmp:
        gated = gated_model_dir(source, args.variant, args.parity_data, Path(tmp), calibration)
        if gated is None:
            older = f" (the older {args.out} is left as it was)" if args.out.exists() else ""
            print(f"error: {args.variant} failed the parity gate; no archive written{older}", file=sys.stderr)
            return 1
        model_dir, recipe, gate = gated
        extra = runtime_entries(Path(tmp), args.variant, args.dlc_python) if args.variant in GRAPHS else []
        content = manifest.manifest(args.variant, recipe, gate, args.parity_data, calibration)
        extra.append((manifest.NAME, manifest.write(Path(tmp) / manifest.NAME, content)))
        sha256 = build_archive(model_dir, args.out, extra=extra)
    code_out = args.out.with_name("code.tar.gz")
    code_sha256 = build_code_archive(code_out)
    print(f"archive: {args.out}")
    print(f"sha256:  {sha256}")
    print(f"code:    {code_out} (code only, as the stack uploads it in hub mode; sha256 {code_sha256})")
    if not args.bucket:
        return 0
    uri = upload(args.out, sha256, args.bucket, args.prefix, region=args.region)
    print(f"s3:      {uri}")
    if args.samconfig:
        set_override(args.samconfig, args.config_env, "ModelDataUrl", uri)
        set_override(args.samconfig, args.config_env, "InferenceVariant", args.variant)
        print(
            f"samconfig: set ModelDataUrl and InferenceVariant={args.variant} "
            f"in [{args.config_env}.deploy.parameters] of {args.samconfig}"
        )
    print(f"deploy:  sam build && sam deploy --config-env {args.config_env}")
    return 0


def calibration_texts(data: Path) -> list[str]:
    """openvino-int8's calibration sentences: a fixed sample of ``data`` (train.tsv, never dev.tsv)."""
    return openvino_export.calibration_sample([e.text for e in read_tsv(data)])


def gated_model_dir(
    source: Path, path: str, parity_data: Path | None, tmp: Path, calibration: Sequence[str] = ()
) -> tuple[Path, str | None, list[parity.Parity]] | None:
    """(model directory to archive, the recipe that passed, the gate's figures) for ``path``, or None when
    no form of it passes the parity gate.

    fp32 ships as it is. bf16 and onnx-fp32 are gated as they are; onnx-int8 and openvino-int8 are
    built in each of ``onnx_export.INT8_RECIPES``, fastest first, and the first that passes ships."""
    if path == REFERENCE:
        return source, None, []
    assert parity_data is not None
    for number, variant in enumerate(graphs.recipes(path)):
        model_dir = source
        if path in GRAPHS:
            runtime = GRAPHS[path][1]
            print(f"graph:   building {graphs.describe(path, variant)} for {runtime}", flush=True)
            graph = graphs.stage(source, tmp / f"stage-{number}", path, variant, calibration)
            model_dir = graph.parent.parent
            size = sum(f.stat().st_size for f in graph.parent.iterdir())
            print(f"graph:   {graph.parent.name}/ {size / 1e6:.1f} MB")
        # A faster path ships only if it answers like fp32 on the data given: no archive otherwise.
        results = parity.check(model_dir, path, parity_data)
        for result in results:
            print(result.describe())
        if all(result.passed for result in results):
            return model_dir, graphs.describe(path, variant) if path in GRAPHS else None, results
    return None


def runtime_entries(tmp: Path, path: str, python: str = wheels.DLC_PYTHON) -> list[tuple[str, Path]]:
    """The path's runtime as wheels for the DLC, and the requirements.txt that installs them offline."""
    requirement = wheels.runtime_requirement(path)
    print(f"wheels:  {requirement} and its dependencies for Python {python} manylinux")
    found = wheels.download(tmp / "wheels", path, python)
    requirements = tmp / "requirements.txt"
    requirements.write_text(wheels.requirements_text(path), encoding="utf-8")
    print(f"wheels:  {len(found)} files, {sum(w.stat().st_size for w in found) / 1e6:.1f} MB")
    seconds = wheels.offline_install_seconds(tmp / "wheels", tmp / "offline-install", path, python)
    print(f"wheels:  install with --no-index, as the endpoint will: {seconds:.1f} s (every wheel installed)")
    return [("code/requirements.txt", requirements), *((f"{wheels.WHEELS_DIR}/{w.name}", w) for w in found)]


def cmd_image_uri(args: argparse.Namespace) -> int:
    print(image_uri(args.region, args.transformers_version, args.device))
    return 0


def cmd_overrides(args: argparse.Namespace) -> int:
    overrides = read_overrides(args.samconfig, args.config_env)
    if args.image_uri:
        overrides["ImageUri"] = args.image_uri
    print(format_overrides(overrides))
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m model.packaging",
        description="Package a Hugging Face classifier into a deterministic model.tar.gz for SageMaker, "
        "upload it content-addressed to S3, and hand its URI to sam deploy.",
    )
    sub = top.add_subparsers(dest="command", required=True)

    pkg = sub.add_parser("package", help="build model.tar.gz (and upload it when --bucket is given)")
    pkg.add_argument("--model", required=True, help="local model directory, or a Hub id such as owner/name")
    pkg.add_argument("--revision", default="main", help="Hub revision to pin (resolved to a commit sha)")
    pkg.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"archive path (default: {DEFAULT_OUT})")
    pkg.add_argument("--bucket", help="S3 bucket; without it the archive is only built")
    pkg.add_argument(
        "--prefix", default="sentimentpulse/models", help="S3 key prefix; the key is PREFIX/<sha256>/model.tar.gz"
    )
    pkg.add_argument("--region", default=None, help="AWS region of the bucket (default: the AWS config's)")
    pkg.add_argument("--samconfig", type=Path, help="samconfig.toml to receive ModelDataUrl=<s3 uri>")
    pkg.add_argument("--config-env", default="default", help="samconfig environment to update (default: default)")
    pkg.add_argument(
        "--variant",
        choices=VARIANT_NAMES,
        default=DEFAULT_VARIANT,
        help=f"SP_INFERENCE_VARIANT the endpoint will use, written to samconfig as InferenceVariant "
        f"(default: {DEFAULT_VARIANT}); any other path must pass the parity gate on --parity-data",
    )
    pkg.add_argument(
        "--parity-data", type=Path, help="SST-2 TSV (dev.tsv) for the parity gate of a path other than fp32"
    )
    pkg.add_argument(
        "--calibration-data",
        type=Path,
        help=f"SST-2 TSV (train.tsv) whose sentences calibrate openvino-int8 "
        f"({openvino_export.CALIBRATION_SENTENCES} of them, a fixed sample)",
    )
    pkg.add_argument("--no-load-check", action="store_true", help="skip loading the model with transformers")
    pkg.add_argument(
        "--dlc-python",
        default=wheels.DLC_PYTHON,
        help=f"Python of the serving image, for the runtime's wheels (default: {wheels.DLC_PYTHON}, the default DLC's)",
    )
    pkg.set_defaults(func=cmd_package)

    img = sub.add_parser("image-uri", help="print the Hugging Face PyTorch inference DLC image URI")
    img.add_argument("--region", required=True, help="AWS region, e.g. us-east-1")
    img.add_argument("--transformers-version", default="4.51.3", help="transformers version of the DLC")
    img.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    img.set_defaults(func=cmd_image_uri)

    ovr = sub.add_parser("overrides", help="print a samconfig environment's parameter overrides (+ ImageUri)")
    ovr.add_argument("--samconfig", type=Path, required=True)
    ovr.add_argument("--config-env", default="default")
    ovr.add_argument("--image-uri", help="add or replace ImageUri")
    ovr.set_defaults(func=cmd_overrides)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except (ModelDirError, ModelSourceError, UploadError, ImageError, SamConfigError, DataError, WheelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
