"""Real HTTP peers on 127.0.0.1 for the demo and the tests: httpbin under gunicorn, moto,
and an RFC 9421 verifying server (``verifying_server.py``) under gunicorn."""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start within {timeout} s")


@functools.cache
def _no_control_socket(gunicorn: str) -> tuple[str, ...]:
    """Newer gunicorn opens a control socket in $HOME; parallel servers must not share it."""
    usage = subprocess.run([gunicorn, "--help"], capture_output=True, text=True, check=True)
    return ("--no-control-socket",) if "--no-control-socket" in usage.stdout else ()


@contextmanager
def _serving(command: list[str], port: int, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Run ``command`` (a server listening on ``port``) until the block ends; yield its URL.

    ``env``: variables added to this process's environment for the server.
    """
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=None if env is None else {**os.environ, **env},
    )
    try:
        _wait_for(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def httpbin_server() -> AbstractContextManager[str]:
    """Run httpbin under gunicorn on a free loopback port; yield its base URL."""
    port = free_port()
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    bind = f"127.0.0.1:{port}"
    options = ["--workers", "2", "--log-level", "warning", *_no_control_socket(gunicorn)]
    return _serving([gunicorn, "--bind", bind, *options, "httpbin:app"], port)


def verifying_server(keys: Mapping[str, bytes]) -> AbstractContextManager[str]:
    """Run ``verifying_server:app`` under gunicorn on a free loopback port; yield its base URL.

    It checks every request's RFC 9421 ``hmac-sha256`` signature with credsign's
    ``Rfc9421Verifier`` against ``keys`` (keyid -> key bytes) and answers 200 or 401
    with JSON (see ``examples/verifying_server.py``).
    """
    from verifying_server import KEYS_VARIABLE, format_keys

    port = free_port()
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    bind = f"127.0.0.1:{port}"
    options = ["--workers", "2", "--log-level", "warning", *_no_control_socket(gunicorn)]
    options += ["--pythonpath", str(Path(__file__).resolve().parent)]
    command = [gunicorn, "--bind", bind, *options, "verifying_server:app"]
    return _serving(command, port, env={KEYS_VARIABLE: format_keys(keys)})


def moto_server() -> AbstractContextManager[str]:
    """Run moto's server (every AWS service on one port) on a free loopback port; yield its URL.

    It accepts any signature until told otherwise: ``POST /moto-api/reset-auth``
    with body ``0`` makes every later AWS call need a valid SigV4 signature by an
    IAM access key created on it (see ``tests/conftest.py``).
    """
    port = free_port()
    return _serving([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], port)
