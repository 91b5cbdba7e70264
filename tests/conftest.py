"""Shared fixtures.  Tests use the project's captured files, never the live host's state."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

import kmemsim

DATA = Path(__file__).parent / "data"
GOLDEN = Path(__file__).parent / "golden"

settings.register_profile("default", max_examples=60, deadline=None)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


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
