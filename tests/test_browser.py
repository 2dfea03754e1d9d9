"""A run folder's index.html in a real headless Chromium, opened straight from disk (file://).

The browser is driven over the Chrome DevTools Protocol (websocket-client, no browser download):
the page must load without console errors, show every image, link only to files that exist in
the run folder (or to anchors on the page), and render to a PNG screenshot. Skipped when
Chromium is absent, unless STUDY_REQUIRE_BROWSER=1 (CI), when that is a failure.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--remote-debugging-port=0",
    "--window-size=1280,900",
]
TIMEOUT_S = 60.0
PAGE_FACTS = """JSON.stringify({
  images: Array.from(document.images, i => ({src: i.getAttribute('src'), complete: i.complete,
                                             width: i.naturalWidth})),
  links: Array.from(document.querySelectorAll('a[href]'),
                    a => ({href: a.getAttribute('href'), url: a.href})),
  ids: Array.from(document.querySelectorAll('[id]'), e => e.id),
  synthetic: Array.from(document.querySelectorAll('.kind-synthetic'),
                        e => ({text: e.innerText, visible: e.offsetWidth > 0})),
  scripts: document.scripts.length,
  title: document.title,
  text: document.body.innerText,
})"""


class DevTools:
    """A minimal Chrome DevTools Protocol client: one websocket to the browser, flat sessions."""

    def __init__(self, url: str):
        import websocket

        self.ws = websocket.create_connection(url, timeout=TIMEOUT_S, suppress_origin=True)
        self.events: list[dict] = []
        self._next_id = 0

    def send(self, method: str, session: str | None = None, **params) -> dict:
        """Send a command and return its result (events that arrive meanwhile are kept)."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, event: str) -> dict:
        """Wait until `event` has arrived (it may already have); return it."""
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            for seen in self.events:
                if seen.get("method") == event:
                    return seen
            self.events.append(json.loads(self.ws.recv()))
        raise TimeoutError(f"no {event} within {TIMEOUT_S} s")

    def close(self) -> None:
        self.ws.close()


def browser_errors(events: list[dict]) -> list[str]:
    """Console errors, uncaught exceptions and error log entries (failed loads, CSP) seen."""
    errors = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(" ".join(str(a.get("value", "")) for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            errors.append(f"{params['entry'].get('text')} {params['entry'].get('url', '')}")
    return errors


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.is_file():
        if os.environ.get("STUDY_REQUIRE_BROWSER") == "1":
            pytest.fail(f"STUDY_REQUIRE_BROWSER=1 but {CHROMIUM} is missing")
        pytest.skip(
            f"{CHROMIUM} not installed (apt-get install chromium); set "
            "STUDY_REQUIRE_BROWSER=1 to make this a failure"
        )
    return CHROMIUM


@pytest.fixture(scope="module")
def run_dir(run_01) -> Path:
    """A real run folder: `study run --only 01 --out <tmp>` (conftest's `run_01`, shared)."""
    return run_01


@contextmanager
def open_in_chromium(chromium: Path, page: Path, tmp: Path) -> Iterator[dict]:
    """Open `page` (file://) in a fresh headless Chromium; yield the page's facts, the errors
    the browser reported and a full-page screenshot (PNG in `tmp`)."""
    profile = tmp / "profile"
    log = (tmp / "chromium.log").open("wb")
    proc = subprocess.Popen(
        [str(chromium), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    tools = None
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + TIMEOUT_S
        while not (port_file.is_file() and len(port_file.read_text().split()) == 2):
            assert proc.poll() is None, f"chromium exited: {(tmp / 'chromium.log').read_text()}"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.1)
        port, path = port_file.read_text().split()
        tools = DevTools(f"ws://127.0.0.1:{port}{path}")
        target = tools.send("Target.createTarget", url="about:blank")["targetId"]
        session = tools.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            tools.send(f"{domain}.enable", session)
        tools.events.clear()  # only what happens from the navigation on counts
        navigation = tools.send("Page.navigate", session, url=page.resolve().as_uri())
        assert "errorText" not in navigation, navigation
        tools.wait_for("Page.loadEventFired")
        evaluated = tools.send(
            "Runtime.evaluate", session, expression=PAGE_FACTS, returnByValue=True
        )
        size = tools.send("Page.getLayoutMetrics", session)["cssContentSize"]
        shot = tools.send(
            "Page.captureScreenshot",
            session,
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        )
        screenshot = tmp / f"{page.stem}.png"
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        yield {
            "facts": json.loads(evaluated["result"]["value"]),
            "errors": browser_errors(tools.events),
            "screenshot": screenshot,
        }
    finally:
        if tools is not None:
            try:
                tools.send("Browser.close")
            except Exception:  # the browser may close the socket before answering
                pass
            tools.close()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def broken_links(facts: dict, root: Path) -> list[str]:
    """Links that are not an anchor on the page nor an existing file inside `root`."""
    ids, broken = set(facts["ids"]), []
    for link in facts["links"]:
        href, url = link["href"], urlparse(link["url"])
        if href.startswith("#"):
            ok = href[1:] in ids
        elif url.scheme != "file":
            ok = False  # no http(s) or other schemes on a page read from disk
        else:
            target = Path(url2pathname(unquote(url.path))).resolve()
            ok = target.is_file() and target.is_relative_to(root.resolve())
        if not ok:
            broken.append(href)
    return broken


# the page tests load a real notebook-01 run: the slow tier (make test-slow; CI runs it)
SLOW = pytest.mark.slow


@pytest.fixture(scope="module")
def page(chromium, run_dir, tmp_path_factory) -> Iterator[dict]:
    """The run's index.html as Chromium saw it."""
    with open_in_chromium(chromium, run_dir / "index.html", tmp_path_factory.mktemp("cr")) as seen:
        yield {**seen, "run_dir": run_dir}


@SLOW
def test_index_loads_without_console_errors(page):
    assert page["errors"] == []
    assert page["facts"]["scripts"] == 0
    assert "Three Conversations study" in page["facts"]["title"]


@SLOW
def test_every_image_loaded(page):
    images = page["facts"]["images"]
    pngs = sorted((page["run_dir"] / "figures").glob("*.png"))
    assert len(images) == len(pngs) > 0
    assert [i["src"] for i in images if not (i["complete"] and i["width"] > 0)] == []


@SLOW
def test_every_link_resolves_inside_the_run_folder(page):
    assert broken_links(page["facts"], page["run_dir"]) == []
    hrefs = {link["href"] for link in page["facts"]["links"]}
    assert {"estimates.csv", "html/01_conversation_split.html"} <= hrefs


@SLOW
def test_key_estimates_are_found_and_synthetic_ones_visibly_labelled(page):
    assert "not found in estimates.csv" not in page["facts"]["text"]
    labels = page["facts"]["synthetic"]
    assert labels and all(
        x == {"text": "synthetic — not a finding", "visible": True} for x in labels
    )


@SLOW
def test_screenshot_is_a_png(page):
    data = page["screenshot"].read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width >= 1000 and height > 900


def test_the_checks_catch_a_broken_page(chromium, tmp_path):
    """The same checks on a page with a missing image, a console error and bad links fail."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>bad</title></head><body>'
        '<img src="missing.png"><a href="nowhere.html">a</a><a href="https://example.org/">b</a>'
        '<a href="#nope">c</a><p id="here"><a href="#here">d</a></p>'
        '<script>console.error("boom")</script></body></html>',
        encoding="utf-8",
    )
    with open_in_chromium(chromium, bad, tmp_path) as seen:
        assert "boom" in seen["errors"]
        assert any("ERR_FILE_NOT_FOUND" in e for e in seen["errors"])
        assert [i["width"] for i in seen["facts"]["images"]] == [0]
        assert broken_links(seen["facts"], tmp_path) == [
            "nowhere.html",
            "https://example.org/",
            "#nope",
        ]
