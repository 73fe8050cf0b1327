"""The day-two parameters (warm serverless, JWT auth, custom domain, guarded rollouts), over every combination.

Three matrices, one per group of parameters that act on each other (the rest stay at their defaults):
warm capacity (EndpointMode x ServerlessProvisionedConcurrency x every ServerlessMaxConcurrency), API
access (AuthMode x the JWT settings x DomainName/CertificateArn), and rollouts (EndpointMode x
EndpointRollout x instance counts x FunctionDeploymentType x bake time). Every combination is either
refused by the template's Rules with the reason, or rendered and checked. Rule ids: docs/aws-rules.md.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from tests.infra.render import LONGEST_STACK_NAME, Refused, Rendered, render

pytestmark = pytest.mark.template

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ab12Cd34E"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/1234abcd-12ab-34cd-56ef-1234567890ab"
SECURED = ("/predict", "/openapi.json")  # /health, /info and /docs stay public in every mode


def matrix(choices: dict[str, list[Any]]) -> Iterator[dict[str, Any]]:
    for values in itertools.product(*choices.values()):
        yield dict(zip(choices, values, strict=True))


def outcome(template: dict[str, Any], values: dict[str, Any]) -> Rendered | Refused:
    try:
        return render(template, values, stack_name=LONGEST_STACK_NAME)
    except Refused as refused:
        return refused


# ---------------------------------------------------------------- warm capacity (SM-7)
def test_sm_7_provisioned_concurrency_is_serverless_and_within_max_concurrency(template: dict[str, Any]) -> None:
    provisioned = template["Parameters"]["ServerlessProvisionedConcurrency"]["AllowedValues"]
    choices = {
        "EndpointMode": ["serverless", "realtime"],
        "ServerlessProvisionedConcurrency": provisioned,
        "ServerlessMaxConcurrency": list(range(1, 201)),  # every value the parameter accepts
    }
    counts = {"rendered": 0, "refused": 0}
    for values in matrix(choices):
        result = outcome(template, values)
        warm = int(values["ServerlessProvisionedConcurrency"])
        wrong_mode = warm > 0 and values["EndpointMode"] == "realtime"
        over_max = warm > int(values["ServerlessMaxConcurrency"])
        assert isinstance(result, Refused) == (wrong_mode or over_max), values
        if isinstance(result, Refused):
            counts["refused"] += 1
            expected = "applies to serverless" if wrong_mode else f"needs ServerlessMaxConcurrency of {warm} or more"
            assert "ServerlessProvisionedConcurrency" in str(result) and (
                expected in str(result) or "keeps serverless instances warm" in str(result)
            ), (values, str(result))
            continue
        counts["rendered"] += 1
        variant = result.props("EndpointConfig")["ProductionVariants"][0]
        if values["EndpointMode"] == "realtime":
            assert "ServerlessConfig" not in variant
        else:
            config = variant["ServerlessConfig"]
            assert config.get("ProvisionedConcurrency", 0) == warm and config["MaxConcurrency"] >= warm
            assert "ProvisionedConcurrency" in config or warm == 0  # 0 means the property is left out
    # serverless: every (p, max) with max >= p; realtime: only p = 0, any max
    accepted = sum(1 for p in provisioned for m in range(1, 201) if m >= int(p)) + 200
    assert counts == {"rendered": accepted, "refused": 2 * len(provisioned) * 200 - accepted}


# ---------------------------------------------------------------- API access (APIGW-2, APIGW-3)
ACCESS: dict[str, list[Any]] = {
    "AuthMode": ["NONE", "IAM", "JWT"],
    "JwtIssuer": ["", ISSUER],
    "JwtAudience": ["", "web-client,mobile-client"],
    "JwtScopes": ["", "sentiment/predict"],
    "DomainName": ["", "api.example.com"],
    "CertificateArn": ["", CERTIFICATE],
}


def access_refusal(values: dict[str, Any]) -> str | None:
    jwt_settings = any(values[k] for k in ("JwtIssuer", "JwtAudience", "JwtScopes"))
    if values["AuthMode"] == "JWT" and not (values["JwtIssuer"] and values["JwtAudience"]):
        return "AuthMode JWT needs"
    if values["AuthMode"] != "JWT" and jwt_settings:
        return "apply only with AuthMode JWT"
    if bool(values["DomainName"]) != bool(values["CertificateArn"]):
        return "DomainName and CertificateArn go together"
    return None


def test_apigw_2_jwt_auth_checks_issuer_audience_and_scopes_on_the_secured_routes(template: dict[str, Any]) -> None:
    rendered = 0
    for values in matrix(ACCESS):
        result = outcome(template, values)
        refusal = access_refusal(values)
        assert isinstance(result, Refused) == (refusal is not None), values
        if isinstance(result, Refused):
            assert refusal is not None and refusal in str(result), (values, str(result))
            continue
        rendered += 1
        body = result.props("HttpApi")["DefinitionBody"]
        schemes = body["components"]["securitySchemes"]
        for path in SECURED:
            method = next(iter(body["paths"][path].values()))
            security = method.get("security")
            if values["AuthMode"] == "NONE":
                assert security is None, values
            elif values["AuthMode"] == "IAM":
                assert security == [{"sigv4": []}] and "sigv4" in schemes
            else:
                scopes = [values["JwtScopes"]] if values["JwtScopes"] else []
                assert security == [{"jwt": scopes}], (values, security)
        if values["AuthMode"] == "JWT":
            authorizer = schemes["jwt"]["x-amazon-apigateway-authorizer"]
            assert authorizer["type"] == "jwt" and authorizer["identitySource"] == "$request.header.Authorization"
            assert authorizer["jwtConfiguration"] == {
                "issuer": ISSUER,
                "audience": ["web-client", "mobile-client"],
            }
        else:
            assert "jwt" not in schemes
    # NONE and IAM without JWT settings, JWT with issuer and audience (with or without scopes); x domain or none
    assert rendered == (1 + 1 + 2) * 2


def test_apigw_3_a_custom_domain_maps_the_stage_and_apiurl_follows(template: dict[str, Any]) -> None:
    for values in matrix(ACCESS):
        result = outcome(template, values)
        if isinstance(result, Refused):
            continue
        has_domain = bool(values["DomainName"])
        assert ("ApiDomain" in result.resources) == ("ApiDomainMapping" in result.resources) == has_domain
        if has_domain:
            domain = result.props("ApiDomain")
            assert domain["DomainName"] == "api.example.com"
            assert domain["DomainNameConfigurations"] == [
                {"CertificateArn": CERTIFICATE, "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}
            ]
            mapping = result.props("ApiDomainMapping")
            assert mapping == {
                "ApiId": "{Ref:HttpApi}",
                "DomainName": "{Ref:ApiDomain}",
                "Stage": "{Ref:HttpApi.Stage}",
            }
            assert result.outputs["ApiUrl"] == "https://api.example.com/predict"
        else:
            assert result.outputs["ApiUrl"].endswith(".execute-api.us-east-1.amazonaws.com/prod/predict")
        assert result.outputs["ApiUrl"] == result.outputs["ApiBaseUrl"] + "/predict"


# ---------------------------------------------------------------- rollouts (SM-8, CD-1)
ROLLOUTS: dict[str, list[Any]] = {
    "EndpointMode": ["serverless", "realtime"],
    "EndpointRollout": ["all-at-once", "canary"],
    "InstanceCount": [1, 2, 20],
    "AutoScalingMinCapacity": [1, 2],
    "EndpointRolloutBakeSeconds": [0, 600, 3600],
}


def endpoint_name(r: Rendered) -> str:
    name: str = r.props("Endpoint")["EndpointName"]
    return name


def test_sm_8_endpoint_updates_are_blue_green_with_auto_rollback_on_its_alarms(template: dict[str, Any]) -> None:
    rendered = 0
    for values in matrix(ROLLOUTS):
        result = outcome(template, values)
        canary = values["EndpointRollout"] == "canary"
        too_small = values["InstanceCount"] == 1 or values["AutoScalingMinCapacity"] == 1
        refused = canary and (values["EndpointMode"] == "serverless" or too_small)
        assert isinstance(result, Refused) == refused, values
        if isinstance(result, Refused):
            assert "EndpointRollout canary" in str(result)
            continue
        rendered += 1
        config = result.props("Endpoint")["DeploymentConfig"]
        policy = config["BlueGreenUpdatePolicy"]
        bake = values["EndpointRolloutBakeSeconds"]
        routing = policy["TrafficRoutingConfiguration"]
        if canary:  # one instance first: at most half of a variant of two or more (TrafficRoutingConfig)
            assert routing == {
                "Type": "CANARY",
                "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
                "WaitIntervalInSeconds": bake,
            }
        else:
            assert routing == {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}
        assert policy["TerminationWaitInSeconds"] == bake
        alarms = [a["AlarmName"] for a in config["AutoRollbackConfiguration"]["Alarms"]]
        assert alarms == ["{Ref:EndpointInvocation5xxAlarm}", "{Ref:EndpointModelLatencyAlarm}"]
        for alarm in ("EndpointInvocation5xxAlarm", "EndpointModelLatencyAlarm"):
            # The alarms name the endpoint by the same expression, not GetAtt: the endpoint names them.
            dimensions = {d["Name"]: d["Value"] for d in result.props(alarm)["Dimensions"]}
            assert dimensions == {"EndpointName": endpoint_name(result), "VariantName": "AllTraffic"}
    assert rendered == 2 * 3 * 2 * 3 + 1 * 2 * 1 * 3  # all-at-once everywhere; canary: realtime, 2+ instances


def test_cd_1_the_function_moves_its_live_alias_with_codedeploy_and_its_alarms(template: dict[str, Any]) -> None:
    kinds = template["Parameters"]["FunctionDeploymentType"]["AllowedValues"]
    assert template["Parameters"]["FunctionDeploymentType"]["Default"].startswith("Canary")
    for kind, mode in itertools.product(kinds, ["serverless", "realtime"]):
        result = render(template, {"FunctionDeploymentType": kind, "EndpointMode": mode})
        function = result.props("PredictFunction")
        assert function["AutoPublishAlias"] == "live"  # SAM requires it for DeploymentPreference
        assert function["DeploymentPreference"] == {
            "Type": kind,
            "Alarms": ["{Ref:FunctionErrorsAlarm}", "{Ref:Api5xxAlarm}"],
        }
        dimensions = {d["Name"]: d["Value"] for d in result.props("FunctionErrorsAlarm")["Dimensions"]}
        assert dimensions == {"FunctionName": "{Ref:PredictFunction}", "Resource": "{Ref:PredictFunction}:live"}
