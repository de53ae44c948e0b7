"""Optional extras: a missing one is an ImportError that names the pip command.

credsign's base install is httpx, idna and pydantic; each extra in pyproject.toml
brings the packages of one feature. A feature calls :func:`require` where it first
needs its package, so that ``import credsign`` never needs an extra and a user of
the feature learns what to install instead of reading a bare ModuleNotFoundError.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module``, or raise an ImportError telling how to install ``extra``.

    Only the absence of ``module`` itself (or of a parent package) is a missing
    extra; an installed package failing on one of its own imports re-raises as is.
    """
    try:
        return import_module(module)
    except ModuleNotFoundError as error:
        missing = error.name or module
        if not (module == missing or module.startswith(missing + ".")):
            raise
    # Raised outside the except clause: the bare ModuleNotFoundError adds nothing.
    raise ImportError(
        f'{feature} needs the {missing!r} package: pip install "credsign[{extra}]"',
        name=missing,
    )
