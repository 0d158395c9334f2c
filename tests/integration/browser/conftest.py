"""The web app in Debian's headless Chromium, driven by Playwright, over the gateway and the
workers run as the real processes an operator starts (``python -m ingest``, ``python -m
consumers all``)."""

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from contracts import Settings
from tests.integration.processes import start_consumer, start_gateway
from tests.media_servers import GraphMediaServer
from tests.outbound_servers import GraphSendServer

pytestmark = pytest.mark.integration

GRAPH_TOKEN = "acme-graph-token"
ACME_KEY = "acme-test-key"
#: Where the README's screenshots are written when ``THREADLINE_SCREENSHOTS`` is set
#: (``make screenshots``); otherwise into the test's own directory.
DOCS = Path(__file__).parents[3] / "docs" / "screenshots"
#: Chromium's own flags for a closed network and a root user (it cannot sandbox as root).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    """Debian's chromium; the tests never download a browser."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail("chromium is not installed: apt-get install chromium (see .ci/run)")
    return found


@dataclass
class Stack:
    base_url: str
    graph: GraphMediaServer
    #: The Graph API's send endpoints (its media retrievals answered by ``graph``).
    graph_api: GraphSendServer
    http: httpx.AsyncClient
    #: Where the README's screenshots go (docs/screenshots with THREADLINE_SCREENSHOTS set).
    screenshots: Path
    #: The test's own directory: downloads, and the page as it ended.
    files: Path


@pytest.fixture
def graph() -> Iterator[GraphMediaServer]:
    with GraphMediaServer(GRAPH_TOKEN) as server:
        yield server


@pytest.fixture
def graph_api(graph: GraphMediaServer) -> Iterator[GraphSendServer]:
    with GraphSendServer({"106540352242922": GRAPH_TOKEN}, media=graph) as server:
        yield server


@pytest.fixture
async def stack(
    settings: Settings, graph: GraphMediaServer, graph_api: GraphSendServer, tmp_path: Path
) -> AsyncIterator[Stack]:
    """The gateway and every worker, with WhatsApp media fetched from, and replies sent to,
    the local Graph API."""
    settings = settings.model_copy(
        update={
            "graph_api_url": graph_api.base_url,
            "media_retry_after": timedelta(seconds=0.2),
            "log_level": "info",
        }
    )
    consumers = start_consumer(settings, "all", tmp_path)
    gateway, base_url = start_gateway(settings, tmp_path)
    screenshots = DOCS if os.environ.get("THREADLINE_SCREENSHOTS") else tmp_path
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
            yield Stack(base_url, graph, graph_api, http, screenshots, tmp_path)
    finally:
        gateway.stop()
        consumers.stop()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Browser, stack: Stack) -> AsyncIterator[Page]:
    context = await browser.new_context(
        base_url=stack.base_url,
        locale="en-GB",
        timezone_id="Europe/London",
        viewport={"width": 1360, "height": 860},
        accept_downloads=True,
    )
    context.set_default_timeout(15_000)
    opened = await context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(str(error)))
    # Shown with a failing test's output.
    opened.on("console", lambda message: print(f"console {message.type}: {message.text}"))
    yield opened
    # What the page showed at the end, for a failing test.
    (stack.files / "last-page.html").write_text(await opened.content())
    await context.close()
    assert not problems, f"the page threw: {problems}"


async def sign_in(page: Page, agent: str = "Dana") -> None:
    await page.goto("/app/")
    await page.get_by_label("API key").fill(ACME_KEY)
    await page.get_by_label("Your name").fill(agent)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("status").filter(has_text="Live").wait_for()
