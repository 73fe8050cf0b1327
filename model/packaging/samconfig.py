"""Read and update `parameter_overrides` of one samconfig.toml environment, keeping the rest intact."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path


class SamConfigError(Exception):
    pass


def _section_bounds(lines: list[str], env: str) -> tuple[int, int]:
    header = f"[{env}.deploy.parameters]"
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == header)
    except StopIteration:
        raise SamConfigError(f"samconfig has no {header} section") from None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    return start, end


def read_overrides(path: Path, env: str) -> dict[str, str]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    raw = data.get(env, {}).get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
    items = shlex.split(raw) if isinstance(raw, str) else list(raw)
    return dict(item.split("=", 1) for item in items)


def format_overrides(overrides: dict[str, str]) -> str:
    return " ".join(f'{k}="{v}"' for k, v in overrides.items())


def set_override(path: Path, env: str, name: str, value: str) -> None:
    """Set NAME=value in [env.deploy.parameters].parameter_overrides (written atomically)."""
    if not re.fullmatch(r"[A-Za-z0-9]+", name) or '"' in value or "\\" in value:
        raise SamConfigError(f"refusing to write {name}={value!r}")
    overrides = read_overrides(path, env)
    overrides[name] = value
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start, end = _section_bounds(lines, env)
    rendered = format_overrides(overrides).replace('"', '\\"')
    new_line = f'parameter_overrides = "{rendered}"\n'
    for i in range(start + 1, end):
        if lines[i].split("=", 1)[0].strip() == "parameter_overrides":
            lines[i] = new_line
            break
    else:
        insert_at = end
        while insert_at > start + 1 and not lines[insert_at - 1].strip():
            insert_at -= 1  # keep the blank line before the next section
        lines.insert(insert_at, new_line)
    partial = path.with_name(path.name + ".partial")
    partial.write_text("".join(lines), encoding="utf-8")
    tomllib.loads(partial.read_text(encoding="utf-8"))  # never leave a broken samconfig behind
    partial.replace(path)
