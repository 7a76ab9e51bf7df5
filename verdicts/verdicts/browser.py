"""A report as its reader sees it: opened in headless Chromium, its visible text, its in-page links, a screenshot.

A page's HTML can be well formed and still show a reader a wall of escaped tags, or link to a section that is not
there; only a browser says what is on the screen. ``seen`` opens a self-contained report file in Debian's
Chromium (``/usr/bin/chromium``, driven by Playwright; never ``playwright install``, which downloads a browser)
with the network and every background service off, and returns what it shows. Playwright is imported inside the
functions, so the kernel stays importable without it.

Tests that need the browser call ``require()`` first: where Chromium or Playwright is missing it fails the test
with what to install, unless ``VERDICTS_NO_BROWSER=1`` explicitly opts out (then the test is skipped, saying so).
A browser test never passes quietly by not running.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
OPT_OUT = "VERDICTS_NO_BROWSER"
WIDTH, HEIGHT = 1300, 1000  # the screen a reader opens the report on; a screenshot is its top screen

# every in-page link (href="#id"), with the tag of the element that id names (null where none does)
_LINKS = """() => Array.from(document.querySelectorAll('a[href^="#"]')).map(a => {
    const id = decodeURIComponent(a.getAttribute('href').slice(1));
    const target = document.getElementById(id);
    return [id, target ? target.tagName.toLowerCase() : null];
})"""


@dataclass
class Seen:
    """What the page shows: ``text`` is ``document.body.innerText``; ``links`` maps each in-page link's target id
    to the tag it lands on (None where no element has that id); ``selected`` the visible text of each element
    matching the selector asked for, in page order."""

    text: str
    links: dict[str, str | None]
    selected: list[str] = field(default_factory=list)
    screenshot: Path | None = None

    @property
    def broken_links(self) -> list[str]:
        return [target for target, tag in self.links.items() if tag is None]


def missing() -> str | None:
    """Why the browser cannot run here (what to install), or None when it can."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing: pip install playwright (never 'playwright install')"
    return None


def require() -> None:
    """For a test: return if the browser can run; otherwise fail naming what to install, or skip where
    VERDICTS_NO_BROWSER=1 explicitly opts out."""
    why = missing()
    if why is None:
        return
    import pytest

    if os.environ.get(OPT_OUT) == "1":
        pytest.skip(f"{why} ({OPT_OUT}=1 opts out of browser tests)")
    pytest.fail(f"{why}; or set {OPT_OUT}=1 to skip the browser tests on purpose", pytrace=False)


def seen(path: Path, screenshot: Path | None = None, select: str | None = None, width: int = WIDTH,
         height: int = HEIGHT) -> Seen:
    """Open the report file ``path`` in headless Chromium at ``width`` x ``height``; its visible text, its in-page
    links and where they land, the text of the elements matching the CSS selector ``select``; with
    ``screenshot``, a PNG of the top screen written there. Raises RuntimeError (what to install) where the
    browser cannot run."""
    why = missing()
    if why is not None:
        raise RuntimeError(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file:", "data:"))
                       else route.abort())  # a report is one file: nothing is fetched from anywhere
            page.goto(Path(path).resolve().as_uri(), wait_until="load")
            text = page.evaluate("() => document.body.innerText")
            links = dict(page.evaluate(_LINKS))
            selected = page.locator(select).all_inner_texts() if select else []
            if screenshot is not None:
                Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), full_page=False)
        finally:
            browser.close()
    return Seen(text, links, selected, Path(screenshot) if screenshot is not None else None)


__all__ = ["Seen", "seen", "missing", "require", "CHROMIUM", "OPT_OUT"]
