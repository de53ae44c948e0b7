"""A stand-in API provider for credential probes: the path's first segment picks the answer.

``/ok/...`` 200 (JSON echo of the method, path and headers), ``/unauthorized/...``
401, ``/forbidden/...`` 403, ``/broken/...`` 500, ``/hang/...`` sleeps
``$PROBE_HANG_SECONDS`` (default 3) then 200; anything else 404. Run under gunicorn
(``local_servers.probe_server``); give a test timeout shorter than the hang.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

STATUSES = {
    "ok": "200 OK",
    "unauthorized": "401 Unauthorized",
    "forbidden": "403 Forbidden",
    "broken": "500 Internal Server Error",
    "hang": "200 OK",
}


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    path: str = environ.get("PATH_INFO", "/")
    behaviour = path.lstrip("/").split("/", 1)[0]
    status = STATUSES.get(behaviour, "404 Not Found")
    if behaviour == "hang":
        time.sleep(float(os.environ.get("PROBE_HANG_SECONDS", "3")))
    headers = {
        key.removeprefix("HTTP_").replace("_", "-").lower(): value
        for key, value in sorted(environ.items())
        if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH")
    }
    body = json.dumps(
        {
            "behaviour": behaviour,
            "method": environ["REQUEST_METHOD"],
            "path": path,
            "headers": headers,
        }
    ).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]
