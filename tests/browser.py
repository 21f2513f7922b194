"""Headless Chromium for the page tests: Debian's browser driven by playwright, nothing downloaded.

`open_page` skips the test when no chromium is installed (and fails it instead when
IMR_LLM_REQUIRE_BROWSER is set, as CI sets it), and collects every console error, page error and
request that leaves the file: a self-contained page has none.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def open_page(path: Path, width: int, height: int) -> Iterator[tuple[Any, list[str]]]:
    """The page at `path` in headless Chromium, and the problems it has shown so far."""
    browser_path = chromium()
    if browser_path is None:
        if os.environ.get("IMR_LLM_REQUIRE_BROWSER"):
            pytest.fail("IMR_LLM_REQUIRE_BROWSER is set but no chromium is on PATH")
        pytest.skip("Debian's chromium is not installed: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=FLAGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: problems.append(r.url) if not r.url.startswith("file:") else None)
        page.goto(path.as_uri())
        try:
            yield page, problems
        finally:
            browser.close()
