"""docs/aws-rules.md, checked over every combination of the template's choice parameters.

Each test is named after the rule it checks. A combination is either refused by the template's
``Rules`` (CFN-1) or rendered (tests/infra/render.py) and held to every rule below.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from model.packaging import custom_resource
from tests.infra import test_operations
from tests.infra.render import LONGEST_STACK_NAME, Refused, Rendered, combinations, render
from tests.support import ROOT

pytestmark = pytest.mark.template

INSTANCE = "5b1c2f10"  # the first group of render.STACK_ID's id: what keeps names unique per stack instance
LONGEST_INSTANCE_TYPE = "ml." + "a" * 10 + "." + "b" * 10  # InstanceType's MaxLength (24) and pattern
LAMBDA_ROLES = ("PredictFunctionRole", "CodeArchiveFunctionRole")


@pytest.fixture(scope="module")
def outcomes(template: dict[str, Any]) -> list[tuple[dict[str, Any], Rendered | Refused]]:
    found: list[tuple[dict[str, Any], Rendered | Refused]] = []
    for values in combinations():
        try:
            found.append((values, render(template, values, stack_name=LONGEST_STACK_NAME)))
        except Refused as refused:
            found.append((values, refused))
    return found


@pytest.fixture(scope="module")
def accepted(outcomes: list[tuple[dict[str, Any], Rendered | Refused]]) -> list[Rendered]:
    return [r for _, r in outcomes if isinstance(r, Rendered)]


def label(r: Rendered) -> str:
    keys = ("EndpointMode", "ModelDataUrl", "ModelDataKmsKeyArn", "InferenceVariant", "ImageUri", "AuthMode")
    return ", ".join(f"{k}={r.parameters[k]!r}" for k in keys)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def grants(r: Rendered, role: str) -> set[tuple[str, str]]:
    """(action, resource) pairs the role's inline policies allow."""
    pairs: set[tuple[str, str]] = set()
    for policy in r.props(role).get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow", (role, statement)
            for action in as_list(statement["Action"]):
                pairs.update((action, resource) for resource in as_list(statement["Resource"]))
    return pairs


def test_the_matrix_covers_every_choice(outcomes: list[tuple[dict[str, Any], Rendered | Refused]]) -> None:
    assert len(outcomes) == 1152
    # hub-direct only with auto or fp32 and no key (2 x 48); packaged: everything (2 keys x 6 variants x 48)
    assert sum(isinstance(r, Rendered) for _, r in outcomes) == 2 * 48 + 2 * 6 * 48


def test_cfn_1_rules_refuse_what_cannot_work(outcomes: list[tuple[dict[str, Any], Rendered | Refused]]) -> None:
    for values, outcome in outcomes:
        hub_direct = values["ModelDataUrl"] == ""
        needs_archive = values["InferenceVariant"] not in ("auto", "fp32") or values["ModelDataKmsKeyArn"] != ""
        assert isinstance(outcome, Refused) == (hub_direct and needs_archive), values
        if isinstance(outcome, Refused):
            assert "needs ModelDataUrl" in str(outcome)


def test_sm_1_serverless_feature_exclusions(accepted: list[Rendered], template: dict[str, Any]) -> None:
    sizes = template["Parameters"]["ServerlessMemorySizeMB"]["AllowedValues"]
    assert all(1024 <= size <= 6144 and size % 1024 == 0 for size in sizes)
    assert template["Parameters"]["ServerlessMaxConcurrency"]["MaxValue"] <= 200
    for r in accepted:
        model = r.props("SageMakerModel")
        [variant] = r.props("EndpointConfig")["ProductionVariants"]  # one variant, in every mode
        config = r.props("EndpointConfig")
        assert "VpcConfig" not in model and "DataCaptureConfig" not in config
        if r.conditions["IsServerless"]:
            assert model["EnableNetworkIsolation"] is False, label(r)
            assert "KmsKeyId" not in config
            assert {"InstanceType", "InitialInstanceCount"}.isdisjoint(variant)
            assert variant["ServerlessConfig"]["MemorySizeInMB"] % 1024 == 0
        else:
            # Realtime with a packaged model: isolated (the archive carries every wheel it needs).
            assert model["EnableNetworkIsolation"] is r.conditions["HasModelData"], label(r)


def endpoint_name(r: Rendered) -> str:
    name: str = r.props("Endpoint")["EndpointName"]
    return name


@pytest.mark.parametrize("mode", ["serverless", "realtime"])
def test_sm_2_a_mode_switch_makes_a_new_endpoint(template: dict[str, Any], mode: str) -> None:
    other = "realtime" if mode == "serverless" else "serverless"
    for source in ("", "s3://model-bucket/m/model.tar.gz"):
        before = render(template, {"EndpointMode": mode, "ModelDataUrl": source})
        after = render(template, {"EndpointMode": other, "ModelDataUrl": source})
        # A changed EndpointName is a replacement: CloudFormation never calls UpdateEndpoint across modes.
        assert endpoint_name(before) != endpoint_name(after)


def test_sm_3_a_new_instance_type_makes_a_new_endpoint_and_scalable_target(template: dict[str, Any]) -> None:
    before = render(template, {"EndpointMode": "realtime", "InstanceType": "ml.m5.xlarge"})
    after = render(template, {"EndpointMode": "realtime", "InstanceType": "ml.c5.2xlarge"})
    assert endpoint_name(before) != endpoint_name(after)
    for r in (before, after):
        target = r.props("EndpointScalableTarget")["ResourceId"]
        assert target == "endpoint/{GetAtt:Endpoint.EndpointName}/variant/AllTraffic"
    # Same instance type, another model: the same endpoint, updated in place (SM-4 keeps its count).
    again = render(template, {"EndpointMode": "realtime", "ModelDataUrl": "s3://b/k/model.tar.gz"})
    assert endpoint_name(again) == endpoint_name(before)


def test_sm_4_updates_keep_the_instance_count_auto_scaling_set(accepted: list[Rendered]) -> None:
    for r in accepted:
        endpoint = r.props("Endpoint")
        if r.conditions["IsRealtime"]:
            assert endpoint["RetainAllVariantProperties"] is True
        else:
            assert "RetainAllVariantProperties" not in endpoint


ENDPOINT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


@pytest.mark.parametrize("mode", ["serverless", "realtime"])
def test_sm_5_and_name_1_names_fit_whatever_the_stack_name(template: dict[str, Any], mode: str) -> None:
    values = {"EndpointMode": mode, "InstanceType": LONGEST_INSTANCE_TYPE}
    r = render(template, values, stack_name=LONGEST_STACK_NAME)
    assert ENDPOINT_NAME.fullmatch(endpoint_name(r)), endpoint_name(r)
    assert INSTANCE in endpoint_name(r)
    for name, fn in r.of_type("AWS::Serverless::Function").items():
        assert "FunctionName" not in fn["Properties"], name  # generated: fits 64 characters (NAME-1)
    if mode == "realtime":
        assert len(r.props("EndpointScalingPolicy")["PolicyName"]) <= 256
    assert len(r.props("Dashboard")["DashboardName"]) <= 255
    for group in r.of_type("AWS::Logs::LogGroup").values():
        assert len(group["Properties"].get("LogGroupName", "")) <= 512


def test_logs_1_every_log_group_is_unique_per_stack_instance(accepted: list[Rendered]) -> None:
    for r in accepted:
        for name, group in r.of_type("AWS::Logs::LogGroup").items():
            explicit = group["Properties"].get("LogGroupName")
            assert explicit is None or INSTANCE in explicit, (name, explicit)


def test_logs_2_and_3_functions_log_to_the_stacks_group_and_cannot_recreate_it(accepted: list[Rendered]) -> None:
    for r in accepted:
        for name, fn in r.of_type("AWS::Serverless::Function").items():
            props = fn["Properties"]
            role = props["Role"].removeprefix("{GetAtt:").removesuffix(".Arn}")
            assert role in LAMBDA_ROLES and role in r.resources, name
            group = props["LoggingConfig"]["LogGroup"].removeprefix("{Ref:").removesuffix("}")
            assert r.resources[group]["Type"] == "AWS::Logs::LogGroup"
            actions = {action for action, _ in grants(r, role)}
            assert "logs:CreateLogGroup" not in actions, role
            assert ("logs:PutLogEvents", "{GetAtt:" + group + ".Arn}") in grants(r, role)
        # SageMaker writes /aws/sagemaker/Endpoints/<name>: that group exists first and goes last.
        assert r.resources["Endpoint"]["DependsOn"] == "EndpointLogGroup"
        assert r.props("EndpointLogGroup")["LogGroupName"] == f"/aws/sagemaker/Endpoints/{endpoint_name(r)}"


def test_cfn_2_custom_resource_answers_before_cloudformation_stops_waiting(template: dict[str, Any]) -> None:
    r = render(template, {})
    timeout = r.props("CodeArchiveFunction")["Timeout"]
    service_timeout = r.props("CodeArchive")["ServiceTimeout"]
    assert 1 <= service_timeout < 3600
    assert service_timeout >= timeout + 10  # the answer's delivery has time after the function's last second
    # The handler keeps ANSWER_RESERVE_S for its answer, and S3 gets what is left of the timeout.
    assert custom_resource.ANSWER_RESERVE_S >= custom_resource.RESPONSE_TIMEOUT_S
    assert timeout - custom_resource.ANSWER_RESERVE_S >= custom_resource.MIN_S3_BUDGET_S


def test_apigw_1_the_function_stops_before_the_api_does(template: dict[str, Any]) -> None:
    assert template["Parameters"]["FunctionTimeoutSeconds"]["MaxValue"] < 30


# ---------------------------------------------------------------- the permissions table
def image_repository_arn(r: Rendered) -> str:
    uri = r.parameters["ImageUri"]
    if not uri:  # the DLC's account in us-east-1 (the Mappings' DlcAccount)
        return "arn:aws:ecr:us-east-1:763104351884:repository/huggingface-pytorch-inference"
    registry, path = uri.split("/", 1)
    return f"arn:aws:ecr:us-east-1:{registry.split('.')[0]}:repository/{path.rsplit(':', 1)[0]}"


def model_object(r: Rendered) -> str:
    url = r.parameters["ModelDataUrl"]
    return f"arn:aws:s3:::{url.removeprefix('s3://')}" if url else "arn:aws:s3:::{Ref:CodeArchiveBucket}/code/*"


ENDPOINT_LOGS = f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/sentimentpulse-{INSTANCE}-*"


@dataclass(frozen=True)
class Permission:
    """One row of docs/aws-rules.md's permissions table."""

    role: str
    actions: tuple[str, ...]
    resource: Callable[[Rendered], str]
    when: Callable[[Rendered], bool] = lambda r: True


PERMISSIONS = (
    Permission("PredictFunctionRole", ("sagemaker:InvokeEndpoint",), lambda r: "{Ref:Endpoint}"),
    Permission("PredictFunctionRole", ("sagemaker:DescribeEndpoint",), lambda r: "{Ref:Endpoint}"),
    Permission(
        "PredictFunctionRole",
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        lambda r: "{GetAtt:PredictFunctionLogGroup.Arn}",
    ),
    Permission(
        "PredictFunctionRole",
        ("xray:PutTraceSegments", "xray:PutTelemetryRecords"),
        lambda r: "*",
        lambda r: r.conditions["IsTracingActive"],
    ),
    Permission(
        "CodeArchiveFunctionRole",
        ("s3:PutObject",),
        lambda r: "{GetAtt:CodeArchiveBucket.Arn}/code/*",
        lambda r: r.conditions["IsHubDirect"],
    ),
    Permission(
        "CodeArchiveFunctionRole",
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        lambda r: "{GetAtt:CodeArchiveFunctionLogGroup.Arn}",
        lambda r: r.conditions["IsHubDirect"],
    ),
    Permission(
        "SageMakerExecutionRole",
        ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"),
        image_repository_arn,
    ),
    Permission("SageMakerExecutionRole", ("ecr:GetAuthorizationToken",), lambda r: "*"),
    Permission("SageMakerExecutionRole", ("s3:GetObject",), model_object),
    Permission(
        "SageMakerExecutionRole",
        ("kms:Decrypt",),
        lambda r: str(r.parameters["ModelDataKmsKeyArn"]),
        lambda r: r.conditions["HasModelDataKmsKey"],
    ),
    Permission(
        "SageMakerExecutionRole",
        ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"),
        lambda r: ENDPOINT_LOGS,
    ),
    Permission("SageMakerExecutionRole", ("cloudwatch:PutMetricData",), lambda r: "*"),
)


def test_permissions_are_exactly_the_table(accepted: list[Rendered]) -> None:
    """Both directions, in every combination: each row granted on its resource, nothing else granted."""
    for r in accepted:
        roles = set(r.of_type("AWS::IAM::Role"))
        assert roles == {p.role for p in PERMISSIONS if p.when(r)}, label(r)
        for role in roles:
            expected = {(a, p.resource(r)) for p in PERMISSIONS if p.role == role and p.when(r) for a in p.actions}
            assert grants(r, role) == expected, (role, label(r))
        assert fnmatch.fnmatch(f"{ENDPOINT_LOGS.split(':log-group:')[0]}:log-group:/aws/sagemaker/Endpoints/"
                               f"{endpoint_name(r)}", ENDPOINT_LOGS)  # fmt: skip


def test_s3_1_and_s3_2_the_custom_resource_needs_no_list_bucket(accepted: list[Rendered]) -> None:
    hub = next(r for r in accepted if r.conditions["IsHubDirect"])
    actions = {action for action, _ in grants(hub, "CodeArchiveFunctionRole")}
    assert "s3:ListBucket" not in actions and "s3:GetObject" not in actions
    # The call itself is tested against an S3 stand-in that models S3-1: tests/packaging/test_custom_resource.py.


def test_the_rules_document_names_every_rule_tested_here() -> None:
    doc = (ROOT / "docs" / "aws-rules.md").read_text(encoding="utf-8")
    ids = set(re.findall(r"^\| ([A-Z0-9]+-\d) \|", doc, flags=re.MULTILINE))
    assert len(ids) >= 15
    names = [*globals(), *vars(test_operations)]
    tested = {
        name.removeprefix("test_").split("_")[0].upper() + "-" + name.removeprefix("test_").split("_")[1]
        for name in names
        if re.match(r"test_[a-z0-9]+_\d_", name)
    }
    assert tested <= ids, tested - ids
    assert {"SM-7", "SM-8", "APIGW-2", "APIGW-3", "CD-1"} <= tested  # the day-two rules, tested there
