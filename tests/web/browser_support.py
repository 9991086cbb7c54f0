"""Headless Chromium for the console's browser test: Debian's ``chromium`` driven by
its ``chromium-driver`` through Selenium (never a downloaded browser or driver)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@contextlib.contextmanager
def chromium(downloads: Path) -> Iterator[WebDriver]:
    os.environ.setdefault("SE_AVOID_STATS", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        "--window-size=1280,900", "--no-first-run", "--disable-extensions",
        "--disable-background-networking", "--disable-sync", "--disable-default-apps",
    ):  # fmt: skip
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        driver.quit()


def wait(driver: WebDriver, check: Callable[[WebDriver], Any], seconds: float = 30) -> Any:
    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, seconds, 0.1, ignored_exceptions=ignored).until(check)


def text_of(driver: WebDriver, element_id: str) -> str:
    return str(driver.find_element(By.ID, element_id).text)


def shoot(driver: WebDriver, name: str, max_height: int = 2000) -> None:
    """The whole page (up to ``max_height`` px), at the window's width."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = driver.get_window_size()
    height = int(driver.execute_script("return document.documentElement.scrollHeight;"))
    driver.set_window_size(size["width"], min(max(height + 140, size["height"]), max_height))
    try:
        driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
    finally:
        driver.set_window_size(size["width"], size["height"])
