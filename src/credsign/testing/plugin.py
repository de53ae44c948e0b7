"""pytest plugin of credsign's test helpers (entry point ``pytest11``: ``credsign``).

Fixtures:

``verifying_transport``
    A factory: ``verifying_transport(record, **options)`` returns a
    :class:`~credsign.testing.transport.VerifyingTransport` for
    ``httpx.Client(transport=...)`` or ``httpx.AsyncClient(transport=...)``.
``verifying_session``
    A factory: ``verifying_session(record, **options)`` returns ``(session, adapter)``,
    a ``requests.Session`` with a :class:`~credsign.testing.transport.VerifyingAdapter`
    mounted on ``http://`` and ``https://``; sessions are closed at teardown.

``options`` are the transports' own: ``app_handler``, ``org``, ``clock``, ``max_skew``.
Nothing heavy is imported until a fixture is used: the plugin loads in every
pytest run of an environment where credsign is installed, extras or not, and a
fixture whose extra is missing fails its test with an ImportError naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from credsign.extras import require

if TYPE_CHECKING:
    import requests

    from credsign.records import Record
    from credsign.testing.transport import VerifyingAdapter, VerifyingTransport

__all__ = ["verifying_session", "verifying_transport"]


@pytest.fixture
def verifying_transport() -> Callable[..., VerifyingTransport]:
    """A factory of httpx transports checking requests against a record."""
    from credsign.testing.transport import VerifyingTransport

    def make(record: Record, **options: Any) -> VerifyingTransport:
        return VerifyingTransport(record, **options)

    return make


@pytest.fixture
def verifying_session() -> Iterator[Callable[..., tuple[requests.Session, VerifyingAdapter]]]:
    """A factory of ``(requests.Session, VerifyingAdapter)`` pairs, the adapter mounted."""
    require("requests", "requests", "verifying_session")  # at setup, naming the extra if missing
    import requests

    from credsign.testing.transport import VerifyingAdapter

    sessions: list[requests.Session] = []

    def make(record: Record, **options: Any) -> tuple[requests.Session, VerifyingAdapter]:
        adapter = VerifyingAdapter(record, **options)
        session = requests.Session()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        sessions.append(session)
        return session, adapter

    yield make
    for session in sessions:
        session.close()
