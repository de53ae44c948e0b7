"""mkdocs hook: the docstrings' Sphinx roles (:class:`X`) render as plain code (`X`).

mkdocstrings renders docstrings as Markdown, where a role's prefix would show as
text in front of the code span.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|data|exc|mod|obj|const):(?=<code>)")


def on_page_content(html: str, **kwargs: Any) -> str:
    return _ROLE.sub("", html)
