"""What the browser tests share: headless Chromium driven by Selenium through ChromeDriver, ways to wait for the
page a click leads to, and a page served on an origin of its own.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them) and selenium; a test module
that imports this one is skipped without them, saying so.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import pytest
from werkzeug.serving import make_server

webdriver = pytest.importorskip("selenium.webdriver", reason="the browser tests need selenium: pip install selenium")
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")
#: a closed network: no background requests, no first-run work
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

#: how long a page may take to come, at most: only a guard against a browser that hangs (the tests wait for
#: the page itself, however long a loaded machine takes to show it)
HANG: Final = 300

#: what a browser test module sets as its ``pytestmark``
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs Chromium and ChromeDriver on PATH (Debian: apt-get install chromium chromium-driver;"
    " .ci/run installs them)",
)


@contextlib.contextmanager
def chromium(profile: Path, *flags: str) -> Iterator[Any]:
    """A headless Chromium with a profile of its own in ``profile`` and ``flags`` besides :data:`FLAGS`, for
    the length of a ``with`` block."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, *flags):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(HANG)
    try:
        yield driver
    finally:
        driver.quit()


def gone(element: Any) -> Callable[[Any], bool]:
    """Whether ``element`` has left the document. Chromium may say so, while it swaps pages, with an inspector
    error ("does not belong to the document") instead of a stale-element one: both mean the page is gone."""

    def check(_driver: Any) -> bool:
        try:
            element.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" not in str(error.msg):
                raise
            return True
        return False

    return check


def navigate(driver: Any, act: Callable[[], object]) -> None:
    """Do what leaves the page (a click, a key), then wait until the browser shows the page it leads to:
    the old page gone, the new one loaded."""
    old = driver.find_element(By.TAG_NAME, "html")
    act()
    wait = WebDriverWait(driver, HANG)
    wait.until(gone(old))
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")


def click(driver: Any, css: str) -> None:
    """Click the control ``css`` selects and wait for the page it leads to."""
    navigate(driver, driver.find_element(By.CSS_SELECTOR, css).click)


def heading(driver: Any) -> str:
    """The heading of the page the browser shows."""
    return str(driver.find_element(By.TAG_NAME, "h1").text)


def on_page(driver: Any, expected: str) -> None:
    assert heading(driver) == expected


def assert_labelled(driver: Any) -> None:
    """Every visible control of the page has a label a screen reader announces."""
    for control in driver.find_elements(By.CSS_SELECTOR, "select, input:not([type=hidden])"):
        assert driver.find_elements(By.CSS_SELECTOR, f"label[for='{control.get_attribute('id')}']")


@contextlib.contextmanager
def static_site(html: str) -> Iterator[str]:
    """A page on its own loopback origin (a port of its own) for the length of a ``with`` block."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [html.encode()]

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
