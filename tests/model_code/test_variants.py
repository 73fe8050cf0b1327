"""The registry of inference variants (model/code/backends.VARIANTS) is the one list: the template, the
packaging CLI, the Makefile's help and the README offer exactly its variants."""

from __future__ import annotations

import argparse
import re

import pytest
from cfnlint.decode import decode

from model.code import backends, inference
from model.packaging.__main__ import parser
from tests.support import ROOT

pytestmark = pytest.mark.model


def test_every_place_that_names_the_variants_names_the_registry() -> None:
    names = list(backends.VARIANTS)
    assert list(inference.VARIANT_NAMES) == names
    template, _ = decode(str(ROOT / "template.yaml"))
    assert template is not None
    assert template["Parameters"]["InferenceVariant"]["AllowedValues"] == [backends.AUTO, *names]
    commands = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    option = next(a for a in commands.choices["package"]._actions if a.dest == "variant")
    assert option.choices is not None and list(option.choices) == [backends.AUTO, *names]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    help_line = next(line for line in makefile.splitlines() if line.startswith("package-model:"))
    assert re.findall(r"VARIANT=([a-z0-9|-]+)", help_line)[0].split("|") == names  # auto is the default
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `InferenceVariant` |"))
    assert all(f"`{name}`" in row for name in [backends.AUTO, *names])


def test_graph_variants_name_their_file_runtime_and_loader() -> None:
    for variant in backends.VARIANTS.values():
        has_graph = variant.graph is not None
        assert has_graph == (variant.runtime is not None) == (variant.load_graph is not None), variant.name
        assert variant.batch_size >= 1
    assert {
        name: (v.graph, v.runtime) for name, v in backends.VARIANTS.items() if v.graph is not None
    } == backends.GRAPHS
