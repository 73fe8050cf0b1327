"""cfn-lint, sam validate (translation and lint), sam build and checkov, all offline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devstack import lambda_image
from devstack.lambda_package import zip_directory
from model.packaging.archive import build_code_archive
from tests.support import tool

pytestmark = pytest.mark.template


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def test_cfn_lint_reports_nothing(root: Path, tool_env: dict[str, str]) -> None:
    result = run([tool("cfn-lint"), "template.yaml"], root, tool_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_sam_validate_translates_the_template(root: Path, tool_env: dict[str, str]) -> None:
    # Plain `sam validate` runs the SAM translator (it catches e.g. non-literal Auth values);
    # `--lint` runs cfn-lint's SAM rules instead. Both must pass.
    for extra in ([], ["--lint"]):
        result = run([tool("sam"), "validate", *extra], root, tool_env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "is a valid SAM Template" in result.stdout + result.stderr


def test_sam_build_makes_a_small_function_without_ml_dependencies(
    root: Path, tool_env: dict[str, str], tmp_path: Path
) -> None:
    build_dir = tmp_path / "build"
    result = run([tool("sam"), "build", "--build-dir", str(build_dir)], root, tool_env)
    assert result.returncode == 0, result.stdout + result.stderr
    function_dir = build_dir / "PredictFunction"
    assert (function_dir / "handler" / "app.py").is_file()
    assert (function_dir / "aws_lambda_powertools").is_dir()
    assert (function_dir / "pydantic_core").is_dir()
    for heavy in ("torch", "transformers", "botocore", "boto3", "model"):
        assert not (function_dir / heavy).exists(), f"{heavy} must not be in the Lambda package"
    core = next((function_dir / "pydantic_core").glob("_pydantic_core*.so"))
    assert "cpython-313" in core.name and "x86_64" in core.name
    assert zip_directory(function_dir, tmp_path / "fn.zip") < 50 * 1024 * 1024  # Lambda's direct-upload limit
    try:  # with a CPython 3.13 on the machine, the package ships bytecode compiled by it
        lambda_image.find_python313(None)
    except lambda_image.ImageError:
        pass
    else:
        assert (function_dir / "handler" / "__pycache__" / "app.cpython-313.pyc").is_file()
        assert (function_dir / "pydantic" / "__pycache__" / "main.cpython-313.pyc").is_file()
    ours = {p.name for p in function_dir.iterdir() if not p.name.endswith((".dist-info", ".libs"))}
    assert "devstack" not in ours and "model" not in ours and "tests" not in ours

    # The custom resource's package: its handler, the tar writer, the hashing helper and model/code/; and it
    # builds the same code archive as `make package-model` does from the source tree.
    archive_dir = build_dir / "CodeArchiveFunction"
    files = sorted(p.relative_to(archive_dir).as_posix() for p in archive_dir.rglob("*") if p.is_file())
    assert files == [
        "model/__init__.py",
        "model/code/__init__.py",
        "model/code/backends.py",
        "model/code/files.py",
        "model/code/identity.py",
        "model/code/inference.py",
        "model/code/options.py",
        "model/code/passes.py",
        "model/code/settings.py",
        "model/digest.py",
        "model/packaging/__init__.py",
        "model/packaging/custom_resource.py",
        "model/packaging/tarball.py",
    ]
    probe = (
        "from model.digest import sha256_bytes; from model.packaging.tarball import code_archive; "
        "print(sha256_bytes(code_archive()))"
    )
    built = run([sys.executable, "-c", probe], tmp_path, {**tool_env, "PYTHONPATH": str(archive_dir)})
    assert built.returncode == 0, built.stderr
    assert built.stdout.strip() == build_code_archive(tmp_path / "code.tar.gz")


def test_checkov_reports_no_failed_checks(root: Path, tool_env: dict[str, str]) -> None:
    result = run(
        [tool("checkov"), "-f", "template.yaml", "--framework", "cloudformation", "--skip-download", "-o", "json"],
        root,
        tool_env,
    )
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [c for r in reports for c in r.get("results", {}).get("failed_checks", [])]
    assert failed == [], [(c["check_id"], c["resource"]) for c in failed]
    summary = reports[0]["summary"]
    assert summary["failed"] == 0
    assert summary["passed"] >= 5  # the scan really ran over the resources
    assert summary["resource_count"] >= 15


# SAM CLI's own check behind `sam deploy --guided`'s "<function> has no authentication. Is this okay?
# [y/N]" question (samcli.commands.deploy.auth_utils), which Enter answers "no" and aborts the deploy.
GUIDED_AUTH_CHECK = """
import json, sys
from samcli.commands.deploy.auth_utils import auth_per_resource
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
overrides = dict(item.split("=", 1) for item in sys.argv[2:])
stacks, _ = SamLocalStackProvider.get_stacks(sys.argv[1], parameter_overrides=overrides)
print(json.dumps(auth_per_resource(stacks)))
"""


def test_sam_deploy_guided_asks_no_authorization_question(root: Path, tool_env: dict[str, str]) -> None:
    python = str(Path(tool("sam")).with_name("python"))
    jwt = ["JwtIssuer=https://issuer.example.com", "JwtAudience=web-client"]
    for mode, extra in (("NONE", []), ("IAM", []), ("JWT", jwt)):
        result = run([python, "-c", GUIDED_AUTH_CHECK, "template.yaml", f"AuthMode={mode}", *extra], root, tool_env)
        assert result.returncode == 0, result.stderr[-2000:]
        checked = json.loads(result.stdout.strip().splitlines()[-1])
        assert len(checked) == 5  # POST /predict, GET /openapi.json, /health, /info and /docs
        assert [resource for resource, declared in checked if not declared] == [], mode
