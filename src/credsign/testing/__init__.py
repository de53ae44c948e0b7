"""Test helpers for code that signs with credsign.

* :class:`VerifyingTransport` (httpx, sync and async) and :class:`VerifyingAdapter`
  (requests): fake servers that check every request against a credential record
  and answer 401 with a stable ``reason`` when it is wrong.
* The pytest plugin (``credsign.testing.plugin``, loaded through the ``pytest11``
  entry point): fixtures ``verifying_transport`` and ``verifying_session``.
* Hypothesis strategies ``records`` and ``requests`` and ``InvalidRecord``
  (``credsign.testing.strategies``; needs ``credsign[testing]``).

Names are imported on first use: httpx's side works without requests or hypothesis,
and the rest, without their extra, raise an ImportError naming it
(``VerifyingAdapter`` and ``verifying_session``: ``credsign[requests]``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the strategies are typed Any here: they load hypothesis
    from credsign.testing.transport import (
        RequestChecker,
        Seen,
        Verdict,
        VerifyingAdapter,
        VerifyingTransport,
    )

__all__ = [
    "InvalidRecord",
    "RequestChecker",
    "Seen",
    "Verdict",
    "VerifyingAdapter",
    "VerifyingTransport",
    "records",
    "requests",
]

_HOMES = {
    "RequestChecker": "credsign.testing.transport",
    "Seen": "credsign.testing.transport",
    "Verdict": "credsign.testing.transport",
    "VerifyingAdapter": "credsign.testing.transport",
    "VerifyingTransport": "credsign.testing.transport",
    "InvalidRecord": "credsign.testing.strategies",
    "records": "credsign.testing.strategies",
    "requests": "credsign.testing.strategies",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'credsign.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
