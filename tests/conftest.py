"""Shared fixtures: real httpbin servers on 127.0.0.1 (see ``examples/local_servers.py``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

EXAMPLES = str(Path(__file__).resolve().parent.parent / "examples")
if EXAMPLES not in sys.path:
    sys.path.insert(0, EXAMPLES)

from local_servers import httpbin_server  # noqa: E402


@pytest.fixture(scope="session")
def httpbin_url() -> Iterator[str]:
    """Base URL of an httpbin server, e.g. ``http://127.0.0.1:PORT``."""
    with httpbin_server() as url:
        yield url


@pytest.fixture(scope="session")
def second_httpbin_url() -> Iterator[str]:
    """Base URL of another httpbin server: a different origin (port) from ``httpbin_url``."""
    with httpbin_server() as url:
        yield url
