"""python -m model.packaging: package a model for SageMaker, resolve DLC images, hand off to sam deploy."""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from model.code.inference import VARIANT_NAMES
from model.packaging import gate_data, local_model, manifest, openvino_export, runtime, shipping
from model.packaging.archive import ModelDirError, build_archive, build_code_archive, validate_model_dir
from model.packaging.image import ImageError, image_uri
from model.packaging.runtime import RuntimeInstallError
from model.packaging.samconfig import SamConfigError, format_overrides, read_overrides, set_override
from model.packaging.upload import UploadError, upload
from model.source import HUB_ID, ModelSourceError, fetch_from_hub
from model.training.data import DataError, read_tsv

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_OUT = ROOT / "build" / "model" / "model.tar.gz"


def cmd_package(args: argparse.Namespace) -> int:
    source = Path(args.model)
    if not source.exists() and HUB_ID.match(args.model):
        source = fetch_from_hub(args.model, args.revision)
    validate_model_dir(source, load=not args.no_load_check)
    tried = shipping.candidates(args.variant)
    data = gate_inputs(args, tried)
    calibration = calibration_texts(data.calibration) if data and openvino_export.PATH in tried else []
    with tempfile.TemporaryDirectory() as tmp:
        shipped: list[shipping.Gated] = []
        for variant in tried:
            assert data is not None
            gated = shipping.gate(source, variant, data.parity, Path(tmp), calibration)
            if gated is not None:
                shipped.append(gated)
            elif args.variant != shipping.AUTO:
                older = f" (the older {args.out} is left as it was)" if args.out.exists() else ""
                print(f"error: {variant} failed the parity gate; no archive written{older}", file=sys.stderr)
                return 1
        if tried and not shipped:
            print(
                f"WARNING: no fast variant passed the parity gate ({', '.join(tried)}: figures above); "
                "the archive ships fp32 alone",
                file=sys.stderr,
            )
        extra = shipping.runtime_entries(Path(tmp), [g.variant for g in shipped], args.dlc_python)
        extra += [entry for gated in shipped for entry in gated.graph_entries()]
        source_of_data = data.source if data else None
        content = manifest.manifest(shipped, data.parity if data else None, calibration, source_of_data)
        extra.append((manifest.NAME, manifest.write(Path(tmp) / manifest.NAME, content)))
        sha256 = build_archive(source, args.out, extra=extra)
    code_out = args.out.with_name("code.tar.gz")
    code_sha256 = build_code_archive(code_out)
    print(f"archive: {args.out}")
    print(f"variants: {', '.join(['fp32', *(g.variant for g in shipped)])} (SP_INFERENCE_VARIANT={args.variant})")
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


def gate_inputs(args: argparse.Namespace, tried: Sequence[str]) -> gate_data.GateData | None:
    """The gate's sentences: the files given, else SST-2 fetched once into build/gate-data (see gate_data);
    None when only fp32 ships and nothing is gated."""
    if not tried:
        return None
    if args.parity_data is None:
        if args.calibration_data is not None:
            raise DataError("--calibration-data needs --parity-data too (the gate's labelled dev.tsv)")
        return gate_data.fetch(args.data_cache)
    calibration = args.calibration_data
    if calibration is None and openvino_export.PATH in tried:
        raise DataError(
            f"{openvino_export.PATH} needs --calibration-data (SST-2 train.tsv): its static int8 "
            "quantization is calibrated on those sentences"
        )
    return gate_data.GateData(args.parity_data, calibration or args.parity_data, f"{args.parity_data} (given)")


def calibration_texts(data: Path) -> list[str]:
    """openvino-int8's calibration sentences: a fixed sample of ``data`` (train.tsv, never dev.tsv)."""
    return openvino_export.calibration_sample([e.text for e in read_tsv(data)])


def cmd_local(args: argparse.Namespace) -> int:
    """Print the folder make local serves: ``args.model`` with its gated fast graphs (``local_model``)."""
    model = Path(args.model)
    if args.variant != shipping.AUTO or not model.is_dir():  # pinned, or an archive / Hub id: served as given
        print(args.model)
        return 0
    with contextlib.redirect_stdout(sys.stderr):  # the gate's progress; stdout carries only the folder
        folder = local_model.prepare(model, args.data)
    print(folder)
    return 0


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
        choices=(shipping.AUTO, *VARIANT_NAMES),
        default=shipping.AUTO,
        help=f"SP_INFERENCE_VARIANT the endpoint will use, written to samconfig as InferenceVariant "
        f"(default: {shipping.AUTO}: ship fp32 plus each of {', '.join(shipping.FAST)} that passes the parity "
        "gate, and let the endpoint time them on its CPU); a named variant other than fp32 must pass",
    )
    pkg.add_argument(
        "--parity-data",
        type=Path,
        help=f"labelled TSV (SST-2 dev.tsv) for the parity gate (default: {gate_data.DATASET} fetched with "
        "datasets, see --data-cache)",
    )
    pkg.add_argument(
        "--data-cache",
        type=Path,
        default=gate_data.CACHE,
        help=f"where {gate_data.DATASET} is written as dev.tsv/train.tsv when no data is given "
        f"(default: {gate_data.CACHE.relative_to(ROOT)})",
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
        default=runtime.DLC_PYTHON,
        help=f"Python of the serving image, for the runtime put in code/ (default: {runtime.DLC_PYTHON}, the DLC's)",
    )
    pkg.set_defaults(func=cmd_package)

    loc = sub.add_parser("local", help="print the folder make local serves: MODEL plus its gated fast graphs")
    loc.add_argument("--model", required=True, help="model directory (an archive or Hub id is printed as given)")
    loc.add_argument("--variant", default=shipping.AUTO, help="anything but auto serves --model as it is")
    loc.add_argument("--data", type=Path, help="folder with dev.tsv and train.tsv (default: SST-2 via datasets)")
    loc.set_defaults(func=cmd_local)

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
    except (
        ModelDirError,
        ModelSourceError,
        UploadError,
        ImageError,
        SamConfigError,
        DataError,
        RuntimeInstallError,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
