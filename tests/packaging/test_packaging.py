"""Packaging: deterministic archive, round trip through the hooks, S3 upload against moto's server."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from model.code import inference
from model.packaging.archive import ModelDirError, build_archive, validate_model_dir
from model.packaging.samconfig import read_overrides, set_override
from model.packaging.upload import s3_key, upload
from tests.support import ROOT, count_writes, moto_bucket
from tests.tiny_model import make_tiny_model

pytestmark = pytest.mark.model

BUCKET = "sentimentpulse-models"


def test_layout(tiny_model: Path, tmp_path: Path) -> None:
    archive = tmp_path / "model.tar.gz"
    build_archive(tiny_model, archive)
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "vocab.txt", "code/inference.py"} <= set(members)
    assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 and m.uname == "" for m in members.values())
    assert list(members) == ["code", *sorted(n for n in members if n != "code")]
    with archive.open("rb") as raw:
        header = raw.read(10)
    assert header[4:8] == b"\x00\x00\x00\x00"  # gzip mtime 0


def test_same_input_same_sha256(tiny_model: Path, tmp_path: Path) -> None:
    first = build_archive(tiny_model, tmp_path / "a" / "model.tar.gz")
    os.utime(tiny_model / "config.json", (1_000_000, 1_000_000))  # touching files changes nothing
    second = build_archive(tiny_model, tmp_path / "b" / "model.tar.gz")
    assert first == second == hashlib.sha256((tmp_path / "a" / "model.tar.gz").read_bytes()).hexdigest()


def test_round_trip_through_the_hooks(tiny_model: Path, tmp_path: Path) -> None:
    archive = tmp_path / "model.tar.gz"
    build_archive(tiny_model, archive)
    extracted = tmp_path / "opt-ml-model"
    with tarfile.open(archive) as tar:
        tar.extractall(extracted, filter="data")
    loaded = inference.model_fn(str(extracted))
    for payload, count in (
        ({"inputs": "good movie"}, 1),
        ({"inputs": ["good", "bad", "boring movie"]}, 3),
        ({"inputs": []}, 0),
        ({"inputs": ["fun " * 700]}, 1),
    ):
        data = inference.input_fn(json.dumps(payload), "application/json")
        result = json.loads(inference.output_fn(inference.predict_fn(data, loaded), "application/json"))
        assert len(result) == count
        assert all(r["label"] in {"POSITIVE", "NEGATIVE"} and 0 <= r["score"] <= 1 for r in result)


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("missing", "model directory not found"),
        ("no-weights", "no weights file"),
        ("bad-config", "config.json: not readable as JSON"),
        ("no-config", "config.json: missing"),
    ],
)
def test_broken_model_dirs_are_named(tmp_path: Path, breakage: str, message: str) -> None:
    model = make_tiny_model(tmp_path / "m")
    if breakage == "missing":
        model = tmp_path / "nope"
    elif breakage == "no-weights":
        (model / "model.safetensors").unlink()
    elif breakage == "bad-config":
        (model / "config.json").write_text("{not json", encoding="utf-8")
    else:
        (model / "config.json").unlink()
    with pytest.raises(ModelDirError, match=message):
        validate_model_dir(model)


# ---------------------------------------------------------------- S3 (moto's standalone server)
@pytest.fixture
def s3(moto_url: str) -> Any:
    return moto_bucket(moto_url, BUCKET)


def test_upload_is_content_addressed_and_skipped_when_present(s3: Any, tiny_model: Path, tmp_path: Path) -> None:
    archive = tmp_path / "model.tar.gz"
    sha = build_archive(tiny_model, archive)
    writes = count_writes(s3)

    uri = upload(archive, sha, BUCKET, "sp/models", client=s3)
    assert uri == f"s3://{BUCKET}/sp/models/{sha}/model.tar.gz"
    assert len(writes) == 1
    stored = s3.get_object(Bucket=BUCKET, Key=s3_key("sp/models", sha))
    assert hashlib.sha256(stored["Body"].read()).hexdigest() == sha

    assert upload(archive, sha, BUCKET, "sp/models", client=s3) == uri
    assert len(writes) == 1  # second upload of the same content: no PUT

    other = build_archive(make_tiny_model(tmp_path / "other", seed=1), tmp_path / "other.tar.gz")
    assert other != sha
    assert upload(tmp_path / "other.tar.gz", other, BUCKET, "sp/models", client=s3).endswith(f"/{other}/model.tar.gz")
    assert len(writes) == 2


def cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "model.packaging", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        check=False,
    )


def aws_env(moto_url: str, tmp_path: Path, credentials: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL_S3=moto_url,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    if credentials:
        env.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
    return env


def objects(s3: Any) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_cli_uploads_and_hands_off_to_samconfig(s3: Any, moto_url: str, tiny_model: Path, tmp_path: Path) -> None:
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text((ROOT / "samconfig.toml").read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "model.tar.gz"
    result = cli(
        [
            "package",
            "--model",
            str(tiny_model),
            "--out",
            str(out),
            "--variant",
            "fp32",
            "--bucket",
            BUCKET,
            "--prefix",
            "cli",
            "--samconfig",
            str(samconfig),
            "--config-env",
            "prod",
        ],
        aws_env(moto_url, tmp_path),
    )
    assert result.returncode == 0, result.stderr
    sha = hashlib.sha256(out.read_bytes()).hexdigest()
    uri = f"s3://{BUCKET}/cli/{sha}/model.tar.gz"
    assert f"sha256:  {sha}" in result.stdout and uri in result.stdout
    overrides = read_overrides(samconfig, "prod")
    assert overrides["ModelDataUrl"] == uri
    assert overrides["InferenceVariant"] == "fp32"
    assert overrides["EndpointMode"] == "realtime"  # the rest is kept
    assert "ModelDataUrl" not in read_overrides(samconfig, "default")


@pytest.mark.parametrize("case", ["missing-dir", "no-weights", "bad-config", "no-credentials", "no-bucket"])
def test_cli_failures_are_clear_and_leave_nothing_in_s3(s3: Any, moto_url: str, tmp_path: Path, case: str) -> None:
    before = objects(s3)
    model = make_tiny_model(tmp_path / "m", seed=7)
    bucket = BUCKET
    if case == "missing-dir":
        model = tmp_path / "does-not-exist"
    elif case == "no-weights":
        (model / "model.safetensors").unlink()
    elif case == "bad-config":
        (model / "config.json").write_bytes(b"\x00\x01garbage")
    elif case == "no-bucket":
        bucket = "no-such-bucket-here"
    argv = ["package", "--model", str(model), "--out", str(tmp_path / "x.tar.gz"), "--variant", "fp32"]
    result = cli(
        [*argv, "--bucket", bucket],
        aws_env(moto_url, tmp_path, credentials=case != "no-credentials"),
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "Traceback" not in result.stderr
    expected = {
        "missing-dir": "model directory not found",
        "no-weights": "no weights file",
        "bad-config": "config.json: not readable",
        "no-credentials": "no AWS credentials",
        "no-bucket": "NoSuchBucket",
    }[case]
    assert expected in result.stderr
    assert objects(s3) == before


def test_samconfig_edit_keeps_other_environments(tmp_path: Path) -> None:
    samconfig = tmp_path / "samconfig.toml"
    original = (ROOT / "samconfig.toml").read_text(encoding="utf-8")
    samconfig.write_text(original, encoding="utf-8")
    set_override(samconfig, "default", "ModelDataUrl", "s3://b/k/model.tar.gz")
    assert read_overrides(samconfig, "default")["ModelDataUrl"] == "s3://b/k/model.tar.gz"
    assert read_overrides(samconfig, "prod") == read_overrides(ROOT / "samconfig.toml", "prod")
    changed = [line for line in samconfig.read_text(encoding="utf-8").splitlines() if line not in original.splitlines()]
    assert len(changed) == 1


def test_template_dlc_accounts_match_the_sagemaker_sdk() -> None:
    from cfnlint.decode import decode

    from model.packaging.image import image_uri, registries

    template, _ = decode(str(ROOT / "template.yaml"))
    mapping = {region: v["Account"] for region, v in template["Mappings"]["DlcAccount"].items()}
    sdk = {r: a for r, a in registries("4.51.3").items() if "iso" not in r}
    assert mapping == sdk
    image = template["Resources"]["SageMakerModel"]["Properties"]["PrimaryContainer"]["Image"]["Fn::If"][2]["Fn::Sub"][
        0
    ]
    tag = image_uri("us-east-1", "4.51.3", "cpu").split("/", 1)[1]
    assert image.endswith("/" + tag)
