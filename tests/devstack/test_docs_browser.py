"""GET /docs in a real browser: headless Chromium (Debian's package) loads the Swagger UI page from the
local stack with every host but loopback unresolvable, lists POST /predict, and "Try it out" on the seed
request shows POSITIVE. Chromium is driven over its DevTools protocol; the screenshot is kept in
build/test-output/ for a person to look at."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from devstack.stack import LocalStack, free_port
from tests.support import ROOT

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOT = ROOT / "build" / "test-output" / "docs-page.png"
WAIT_S = 90  # a loaded 2-core machine: page load, then a model call


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[str]:
    """A headless Chromium with no network but loopback; yields its DevTools HTTP address."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)")
    port = free_port()
    command = [
        CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
        f"--remote-debugging-port={port}", f"--user-data-dir={tmp_path / 'profile'}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "about:blank",
    ]  # fmt: skip
    log = (tmp_path / "chromium.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
    devtools = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{devtools}/json/version", timeout=2).close()  # noqa: S310 - loopback
                break
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chromium did not start: {(tmp_path / 'chromium.log').read_text()[-2000:]}")
            time.sleep(0.3)
        yield devtools
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the browser and every helper process it started
        process.wait()
        log.close()


class Page:
    """Just enough of the DevTools protocol: commands, and the URLs of every request the page makes."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.next_id = 0
        self.requested: list[str] = []

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        await self.socket.send_json({"id": self.next_id, "method": method, "params": params})
        while True:
            message = json.loads((await self.socket.receive()).data)
            if message.get("method") == "Network.requestWillBeSent":
                request = message["params"]["request"]
                self.requested.append(f"{request['method']} {request['url'][:200]}")
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    async def evaluate(self, expression: str) -> Any:
        answer = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return answer.get("result", {}).get("value")

    async def wait_for(self, expression: str, what: str) -> Any:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            value = await self.evaluate(expression)
            if value:
                return value
            await asyncio.sleep(0.25)
        raise AssertionError(f"timed out waiting for {what}")


async def try_the_seed_request(devtools: str, docs_url: str) -> tuple[str, list[str], bytes]:
    async with aiohttp.ClientSession() as session:
        async with session.put(f"{devtools}/json/new?about:blank") as answer:
            target = await answer.json(content_type=None)
        async with session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as socket:
            page = Page(socket)
            await page.call("Network.enable")
            await page.call("Page.navigate", url=docs_url)
            paths = await page.wait_for(
                "[...document.querySelectorAll('.opblock-summary-path')].map(e => e.textContent).join(' ')",
                "the operations list",
            )
            assert "/predict" in paths
            await page.evaluate("document.querySelector('.opblock-post .opblock-summary-control').click()")
            await page.wait_for("!!document.querySelector('.opblock-post .try-out__btn')", "Try it out")
            await page.evaluate("document.querySelector('.opblock-post .try-out__btn').click()")
            await page.wait_for("!!document.querySelector('.opblock-post .execute')", "Execute")
            await page.evaluate("document.querySelector('.opblock-post .execute').click()")
            shown = await page.wait_for(
                "(document.querySelector('.opblock-post .live-responses-table .response-col_description pre')"
                " || {}).textContent",
                "the response body",
            )
            shot = await page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
            return str(shown), page.requested, base64.b64decode(shot["data"])


def test_docs_page_lists_predict_and_try_it_out_answers_positive(chromium: str, stack: LocalStack) -> None:
    shown, requested, png = asyncio.run(try_the_seed_request(chromium, f"{stack.api_url}/docs"))

    assert json.loads(shown)[0]["label"] == "POSITIVE", shown
    # Every request the page made went to the local API (data: URLs are inline images): no CDN.
    loopback = f"{stack.api_url}/"
    fetched = [r.split(" ", 1)[1] for r in requested if not r.split(" ", 1)[1].startswith("data:")]
    assert all(url.startswith(loopback) for url in fetched), requested
    assert f"GET {loopback}docs" in requested and f"POST {loopback}predict" in requested, requested
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.write_bytes(png)
