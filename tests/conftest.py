"""Shared fixtures.  Tests use the project's captured files, never the live host's state."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

import kmemsim

DATA = Path(__file__).parent / "data"
GOLDEN = Path(__file__).parent / "golden"

settings.register_profile("default", max_examples=60, deadline=None)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


# kmemsim's on-disk cache (kmemsim.snapshot.cache_dir) goes to a directory of the test run, never the user's
# ~/.cache: set here, before any test, so that the commands tests start in subprocesses use it too.
_CACHE_HOME = tempfile.mkdtemp(prefix="kmemsim-test-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE_HOME
atexit.register(shutil.rmtree, _CACHE_HOME, True)
os.environ.pop("KMEMSIM_CACHE", None)


def golden(name: str, actual: str) -> str:
    """The golden text ``name``; with KMEMSIM_UPDATE_GOLDEN=1 it is rewritten from ``actual``."""
    path = GOLDEN / name
    if os.environ.get("KMEMSIM_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
    return path.read_text()


@pytest.fixture
def k() -> kmemsim.Kernel:
    return kmemsim.boot()


@pytest.fixture
def k32() -> kmemsim.Kernel:
    return kmemsim.boot("linux-2.6-i386", ram="1G")


# ---------------------------------------------------------------------------- a real browser
# Debian's chromium (.ci/run installs it) driven by Playwright, never a browser Playwright
# downloads itself: the report's and the explorer's browser tests share it.
CHROMIUM = Path(os.environ.get("KMEMSIM_CHROMIUM", "/usr/bin/chromium"))
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def _need_browser():
    why = None
    if not CHROMIUM.exists():
        why = f"no browser at {CHROMIUM} (Debian: apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            why = "playwright is not installed (pip install -e .[test])"
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test: {why}")
        pytest.skip(why)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p, tempfile.TemporaryDirectory(prefix="kmemsim-chromium-") as profile:
        ctx = p.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=FLAGS, viewport={"width": 1280, "height": 1000}
        )
        yield ctx
        ctx.close()
