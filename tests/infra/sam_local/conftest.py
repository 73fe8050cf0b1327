"""Docker tier: the real SAM CLI running the function in a Lambda image (make sam-local's checks)."""

from __future__ import annotations

import pytest

from devstack import lambda_image, sam_local
from devstack.stack import DEFAULT_MODEL


@pytest.fixture(scope="session")
def sam_local_rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, sam_local.Row]:
    """One SAM CLI run for the whole tier. Skipped, with the reason in the summary, only where Docker
    (or the CPython 3.13 the offline image is built from) is not available on this machine."""
    log_path = tmp_path_factory.mktemp("sam-local") / "sam-local.log"
    with log_path.open("wb") as log:
        try:
            sam_local.ensure_docker(log)
        except sam_local.SamLocalError as exc:
            pytest.skip(f"DOCKER TIER NOT RUN: {exc}")
        try:
            rows = sam_local.run(str(DEFAULT_MODEL), log)
        except lambda_image.ImageError as exc:
            pytest.skip(f"DOCKER TIER NOT RUN: the Lambda image cannot be built here: {exc}")
        except sam_local.SamLocalError as exc:
            pytest.fail(f"{exc}; log: {log_path}")
    return {row.check: row for row in rows}
