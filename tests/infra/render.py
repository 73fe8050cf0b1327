"""template.yaml as CloudFormation would see it for one set of parameter values.

Evaluates the template's ``Rules`` (is the combination refused, and with which message) and, for an
accepted one, its ``Conditions`` and intrinsic functions: resources whose condition is false are gone,
``Fn::If`` branches are chosen, ``AWS::NoValue`` disappears, and ``Ref``/``Fn::Sub``/``Fn::Join``/
``Fn::Split``/``Fn::Select``/``Fn::FindInMap`` give strings. What only exists at deploy time (another
resource's ``Ref`` or ``Fn::GetAtt``) becomes a readable token such as ``{Ref:Endpoint}``, so a rule can
still tell which resource a policy names. This is how the rules in docs/aws-rules.md are checked over
every combination of the template's choice parameters.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

NO_VALUE = object()
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/{name}/5b1c2f10-0000-11ef-8000-0a1b2c3d4e5f"
# The longest stack name CloudFormation accepts: names derived from it must still fit their limits.
LONGEST_STACK_NAME = "s" * 128


class Refused(Exception):
    """A Rules assertion failed: CloudFormation refuses the parameters before touching any resource."""


@dataclass(frozen=True)
class Rendered:
    parameters: dict[str, Any]
    conditions: dict[str, bool]
    resources: dict[str, dict[str, Any]]
    outputs: dict[str, Any]

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: r for name, r in self.resources.items() if r["Type"] == kind}

    def props(self, name: str) -> dict[str, Any]:
        properties: dict[str, Any] = self.resources[name].get("Properties", {})
        return properties


class Renderer:
    def __init__(self, template: Mapping[str, Any], values: Mapping[str, Any], stack_name: str, region: str) -> None:
        self.template = template
        self.parameters = {name: p.get("Default") for name, p in template["Parameters"].items()}
        unknown = set(values) - set(self.parameters)
        assert not unknown, f"not template parameters: {unknown}"
        self.parameters.update(values)
        for name, parameter in template["Parameters"].items():  # a list parameter's Ref is a list
            if parameter["Type"] == "CommaDelimitedList" and isinstance(self.parameters[name], str):
                self.parameters[name] = self.parameters[name].split(",")
        self.pseudo = {
            "AWS::StackName": stack_name,
            "AWS::StackId": STACK_ID.format(name=stack_name),
            "AWS::Region": region,
            "AWS::AccountId": "123456789012",
            "AWS::Partition": "aws-cn" if region.startswith("cn-") else "aws",
            "AWS::URLSuffix": "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com",
        }
        self.conditions: dict[str, bool] = {}

    # ------------------------------------------------------------------ conditions and rules
    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.value(self.template["Conditions"][name]))
        return self.conditions[name]

    def check_rules(self) -> None:
        for name, rule in self.template.get("Rules", {}).items():
            if "RuleCondition" in rule and not self.value(rule["RuleCondition"]):
                continue
            for assertion in rule["Assertions"]:
                if not self.value(assertion["Assert"]):
                    raise Refused(f"{name}: {assertion.get('AssertDescription', '')}")

    # ------------------------------------------------------------------ intrinsic functions
    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        return f"{{Ref:{name}}}"

    def sub(self, text: str, names: Mapping[str, Any]) -> str:
        def one(match: re.Match[str]) -> str:
            key = match.group(1)
            if key in names:
                return str(names[key])
            if "." in key:
                return "{GetAtt:" + key + "}"
            return str(self.ref(key))

        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.value(item) for item in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::If":
                return self.value(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Fn::Equals":
                left, right = (self.value(a) for a in arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.value(arg[0])
            if key == "Fn::And":
                return all(self.value(a) for a in arg)
            if key == "Fn::Or":
                return any(self.value(a) for a in arg)
            if key == "Fn::Contains":  # Rules only: is the string in the list
                members, item = (self.value(a) for a in arg)
                return str(item) in [str(m) for m in members]
            if key == "Fn::GetAtt":
                target = arg if isinstance(arg, str) else ".".join(arg)
                return "{GetAtt:" + target + "}"
            if key == "Fn::Sub":
                if isinstance(arg, str):
                    return self.sub(arg, {})
                return self.sub(arg[0], {k: self.value(v) for k, v in arg[1].items()})
            if key == "Fn::Join":
                return arg[0].join(str(v) for v in self.value(arg[1]))
            if key == "Fn::Split":
                return str(self.value(arg[1])).split(arg[0])
            if key == "Fn::Select":
                return self.value(arg[1])[int(self.value(arg[0]))]
            if key == "Fn::FindInMap":
                top, second, third = (self.value(a) for a in arg)
                return self.template["Mappings"][top][second][third]
        return {k: v for k, v in ((k, self.value(v)) for k, v in node.items()) if v is not NO_VALUE}

    def render(self) -> Rendered:
        self.check_rules()
        resources = {}
        for name, resource in self.template["Resources"].items():
            if "Condition" in resource and not self.condition(resource["Condition"]):
                continue
            resources[name] = self.value(resource)
        outputs = {
            name: self.value(o["Value"])
            for name, o in self.template.get("Outputs", {}).items()
            if "Condition" not in o or self.condition(o["Condition"])
        }
        for name in self.template["Conditions"]:
            self.condition(name)
        return Rendered(dict(self.parameters), dict(self.conditions), resources, outputs)


def render(
    template: Mapping[str, Any],
    values: Mapping[str, Any],
    stack_name: str = "sentimentpulse",
    region: str = "us-east-1",
) -> Rendered:
    """The template for ``values`` (other parameters at their defaults); raises ``Refused`` per its Rules."""
    return Renderer(template, values, stack_name, region).render()


# Every choice the template offers that changes which resources exist or what they are allowed to do.
# Free-form parameters get a representative of each shape their pattern accepts.
CHOICES: dict[str, list[Any]] = {
    "EndpointMode": ["serverless", "realtime"],
    "ModelDataUrl": ["", "s3://model-bucket/sentimentpulse/models/0123abcd/model.tar.gz"],
    "ModelDataKmsKeyArn": ["", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"],
    "InferenceVariant": ["auto", "fp32", "bf16", "onnx-fp32", "onnx-int8", "openvino-int8"],
    "ImageUri": [
        "",
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-inference:2.6.0-cpu",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/models/sentiment-dlc:v1",
    ],
    "AuthMode": ["NONE", "IAM"],
    "TracingMode": ["Active", "PassThrough"],
    "AlarmTopicArn": ["", "arn:aws:sns:us-east-1:123456789012:alerts"],
}


def combinations() -> Iterator[dict[str, Any]]:
    names = list(CHOICES)
    for values in itertools.product(*(CHOICES[n] for n in names)):
        yield dict(zip(names, values, strict=True))
