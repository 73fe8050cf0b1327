"""Structure of template.yaml: least privilege, bounded timeouts, the prod stage, logs and outputs."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest
import yaml

from bench.budget import SMALLEST_SERVERLESS_MB
from devstack.lambda_env import function_environment, model_endpoints
from handler.config import Settings
from tests.infra.render import render
from tests.support import ROOT

pytestmark = pytest.mark.template


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def test_no_managed_full_access_policies(template: dict[str, Any]) -> None:
    text = repr(template)
    assert "FullAccess" not in text
    for role in resources_of(template, "AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


def test_hub_mode_runs_the_stacks_code_archive_packaged_mode_the_parameter(template: dict[str, Any]) -> None:
    container = template["Resources"]["SageMakerModel"]["Properties"]["PrimaryContainer"]
    assert container["ModelDataUrl"] == {
        "Fn::If": ["HasModelData", {"Ref": "ModelDataUrl"}, {"Fn::GetAtt": ["CodeArchive", "Uri"]}]
    }
    env = container["Environment"]
    assert env["HF_MODEL_ID"] == {"Fn::If": ["HasModelData", {"Ref": "AWS::NoValue"}, {"Ref": "HfModelId"}]}
    assert env["HF_MODEL_REVISION"] == {"Fn::If": ["HasModelData", {"Ref": "AWS::NoValue"}, {"Ref": "HfModelRevision"}]}
    assert template["Conditions"]["IsHubDirect"] == {"Fn::Equals": [{"Ref": "ModelDataUrl"}, ""]}
    archive = template["Resources"]["CodeArchive"]
    assert archive["Type"] == "Custom::CodeArchive" and archive["Condition"] == "IsHubDirect"
    props = archive["Properties"]
    assert props["ServiceToken"] == {"Fn::GetAtt": ["CodeArchiveFunction", "Arn"]}
    assert props["Bucket"] == {"Ref": "CodeArchiveBucket"}
    # A new function version whenever its code changes, so CloudFormation sends an Update.
    assert props["CodeVersion"] == {"Ref": "CodeArchiveFunction.Version"}
    fn = template["Resources"]["CodeArchiveFunction"]
    assert fn["Properties"]["AutoPublishAlias"] == "live"
    assert fn["Properties"]["Handler"] == "model.packaging.custom_resource.handler"


def test_code_archive_bucket_is_private_encrypted_versioned_and_tls_only(template: dict[str, Any]) -> None:
    bucket = template["Resources"]["CodeArchiveBucket"]
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    [deny] = template["Resources"]["CodeArchiveBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_timeouts_are_bounded_below_api_gateway(template: dict[str, Any]) -> None:
    fn = template["Resources"]["PredictFunction"]["Properties"]
    parameter = template["Parameters"]["FunctionTimeoutSeconds"]
    # One source of truth: the function's Timeout and the handler's FUNCTION_TIMEOUT_SECONDS are the
    # same parameter, which cannot reach API Gateway's 30 s.
    assert fn["Timeout"] == {"Ref": "FunctionTimeoutSeconds"}
    env = fn["Environment"]["Variables"]
    assert env["FUNCTION_TIMEOUT_SECONDS"] == {"Ref": "FunctionTimeoutSeconds"}
    assert parameter["MaxValue"] < 30
    timeout = parameter["Default"]
    literal = {k: str(v) for k, v in env.items() if isinstance(v, str)}
    settings = Settings.from_env({**literal, "ENDPOINT_NAME": "x", "FUNCTION_TIMEOUT_SECONDS": str(timeout)})
    assert settings.max_attempts * (settings.connect_timeout + settings.read_timeout) < timeout
    # sam local and the local API read the timeout from events/env.json: it must be the template's.
    assert float(function_environment()["FUNCTION_TIMEOUT_SECONDS"]) == timeout


def test_env_json_declares_only_what_the_template_declares(template: dict[str, Any]) -> None:
    """SAM CLI applies --env-vars only to variables the template declares; others are silently dropped."""
    declared = set(template["Resources"]["PredictFunction"]["Properties"]["Environment"]["Variables"])
    # The AWS_* names left are the Lambda runtime's own (region, credentials), not the template's.
    runtime_own = {"AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    assert set(function_environment()) - declared <= runtime_own
    assert set(model_endpoints("http://x")) <= declared  # the local model server's URL


@pytest.mark.parametrize(
    ("region", "url_suffix"),
    [("us-east-1", "amazonaws.com"), ("eu-west-1", "amazonaws.com"), ("cn-north-1", "amazonaws.com.cn"),
     ("us-gov-west-1", "amazonaws.com"), ("ap-southeast-2", "amazonaws.com")],
)  # fmt: skip
@pytest.mark.parametrize(
    ("service", "variable"),
    [("sagemaker-runtime", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"), ("sagemaker", "AWS_ENDPOINT_URL_SAGEMAKER")],
)
def test_deployed_endpoint_url_is_the_one_botocore_resolves_anyway(
    template: dict[str, Any], region: str, url_suffix: str, service: str, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = template["Resources"]["PredictFunction"]["Properties"]["Environment"]["Variables"][variable]
    deployed = value["Fn::Sub"].replace("${AWS::Region}", region).replace("${AWS::URLSuffix}", url_suffix)

    def resolved() -> str:
        client = boto3.client(service, region_name=region, aws_access_key_id="x", aws_secret_access_key="x")  # type: ignore[call-overload]
        return str(client.meta.endpoint_url)

    monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    default = resolved()
    monkeypatch.setenv(variable, deployed)
    assert resolved() == default == deployed


def test_function_runtime_and_tracing(template: dict[str, Any]) -> None:
    globals_fn = template["Globals"]["Function"]
    assert globals_fn["Runtime"] == "python3.13"
    assert globals_fn["Tracing"] == {"Ref": "TracingMode"}
    assert template["Parameters"]["TracingMode"]["Default"] == "Active"
    variables = template["Resources"]["PredictFunction"]["Properties"]["Environment"]["Variables"]
    # Powertools' tracer is off exactly when X-Ray is: the X-Ray SDK is then never imported.
    assert variables["POWERTOOLS_TRACE_DISABLED"] == {"Fn::If": ["IsTracingActive", "false", "true"]}
    fn = template["Resources"]["PredictFunction"]
    assert fn["Metadata"]["BuildMethod"] == "makefile"
    assert fn["Properties"]["MemorySize"] <= 512
    for name in ("ENDPOINT_NAME", "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"):
        assert name in fn["Properties"]["Environment"]["Variables"]


def test_http_api_stage_throttling_logs_and_cors(template: dict[str, Any]) -> None:
    api = template["Resources"]["HttpApi"]["Properties"]
    assert api["StageName"] == "prod"
    assert api["DefaultRouteSettings"]["ThrottlingRateLimit"] == {"Ref": "ThrottlingRateLimit"}
    assert api["DefaultRouteSettings"]["ThrottlingBurstLimit"] == {"Ref": "ThrottlingBurstLimit"}
    assert api["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert api["AccessLogSettings"]["Format"].lstrip().startswith("{")
    assert api["CorsConfiguration"]["AllowCredentials"] is False
    events = template["Resources"]["PredictFunction"]["Properties"]["Events"]
    assert events["Predict"]["Properties"] == {"ApiId": {"Ref": "HttpApi"}, "Path": "/predict", "Method": "POST"}


@pytest.mark.parametrize(
    "log_group", ["ApiAccessLogGroup", "PredictFunctionLogGroup", "CodeArchiveFunctionLogGroup", "EndpointLogGroup"]
)
def test_log_groups_have_retention(template: dict[str, Any], log_group: str) -> None:
    assert template["Resources"][log_group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_endpoint_modes(template: dict[str, Any]) -> None:
    assert template["Parameters"]["EndpointMode"]["AllowedValues"] == ["serverless", "realtime"]
    # The smallest size is the one the token budget is sized for (README, Request limits).
    sizes = template["Parameters"]["ServerlessMemorySizeMB"]["AllowedValues"]
    assert sizes == [4096, 5120, 6144]
    assert min(sizes) == SMALLEST_SERVERLESS_MB
    variant = template["Resources"]["EndpointConfig"]["Properties"]["ProductionVariants"][0]
    assert variant["ServerlessConfig"]["Fn::If"][0] == "IsServerless"
    assert variant["ContainerStartupHealthCheckTimeoutInSeconds"]["Fn::If"][0] == "IsRealtime"
    for name in ("EndpointScalableTarget", "EndpointScalingPolicy"):
        assert template["Resources"][name]["Condition"] == "IsRealtime"
    policy = template["Resources"]["EndpointScalingPolicy"]["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert policy["PredefinedMetricSpecification"]["PredefinedMetricType"] == "SageMakerVariantInvocationsPerInstance"


def test_autoscaling_target_is_the_measured_one(template: dict[str, Any]) -> None:
    """The default comes from make bench's docs/capacity.md (rounded down to 100), not from a guess."""
    capacity = (ROOT / "docs" / "capacity.md").read_text(encoding="utf-8")
    found = re.search(r"\*\*Autoscaling target\*\*: (\d+) invocations per instance per minute", capacity)
    assert found is not None
    default = template["Parameters"]["TargetInvocationsPerInstance"]["Default"]
    assert default == int(found.group(1)) // 100 * 100


def test_model_source_is_s3_or_pinned_hub_revision(template: dict[str, Any]) -> None:
    env = template["Resources"]["SageMakerModel"]["Properties"]["PrimaryContainer"]["Environment"]
    assert env["HF_TASK"] == "text-classification"
    assert template["Parameters"]["HfModelRevision"]["AllowedPattern"] == "^[0-9a-f]{40}$"


def test_alarms_and_dashboard(template: dict[str, Any]) -> None:
    alarms = {r["Properties"]["MetricName"] for r in resources_of(template, "AWS::CloudWatch::Alarm").values()}
    assert alarms == {"5xx", "Errors", "Throttles", "ModelLatency", "Invocation5XXErrors"}
    body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    for metric in ('"Count"', '"Latency"', '"5xx"', "LabelPositive", "LabelNegative", '"p99"'):
        assert metric in body


def test_outputs(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert {"ApiUrl", "ApiBaseUrl", "EndpointName", "FunctionName", "ApiAccessLogGroupName"} <= set(outputs)
    plain = render(template, {}).outputs
    assert plain["ApiUrl"] == "https://{Ref:HttpApi}.execute-api.us-east-1.amazonaws.com/prod/predict"
    assert plain["ApiBaseUrl"] + "/predict" == plain["ApiUrl"] and "ApiDomainTarget" not in plain
    certificate = "arn:aws:acm:us-east-1:123456789012:certificate/1234abcd-12ab-34cd-56ef-1234567890ab"
    domain = render(template, {"DomainName": "api.example.com", "CertificateArn": certificate}).outputs
    assert (domain["ApiUrl"], domain["ApiBaseUrl"]) == ("https://api.example.com/predict", "https://api.example.com")
    assert domain["ApiDomainTarget"] == "{GetAtt:ApiDomain.RegionalDomainName}"


def test_every_parameter_is_described_and_constrained(template: dict[str, Any]) -> None:
    for name, parameter in template["Parameters"].items():
        assert len(parameter.get("Description", "")) > 20, name
        if parameter["Type"] == "String":
            assert "AllowedValues" in parameter or "AllowedPattern" in parameter, name
        if parameter["Type"] == "Number":
            assert "AllowedValues" in parameter or "MinValue" in parameter, name


def test_the_pipeline_deploys_only_after_make_test_and_smoke_tests_what_it_deployed() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text(encoding="utf-8"))
    jobs = workflow["jobs"]
    assert jobs["deploy"]["needs"] == "test" and workflow["permissions"]["id-token"] == "write"
    test_runs = [step.get("run", "") for step in jobs["test"]["steps"]]
    assert any(run.endswith("main/.ci/run") for run in test_runs)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert "make test" in ci  # .ci/run runs the README's test command
    deploy_runs = [" ".join(step.get("run", "").split()) for step in jobs["deploy"]["steps"]]
    deploy = next(i for i, run in enumerate(deploy_runs) if run.startswith("make deploy "))
    smoke = next(i for i, run in enumerate(deploy_runs) if run.startswith("make smoke STACK="))
    assert deploy < smoke and "--no-confirm-changeset" in deploy_runs[deploy]
    assert not any("AWS_SECRET_ACCESS_KEY" in str(step) for job in jobs.values() for step in job["steps"])
