"""Real HTTP peers on 127.0.0.1 for the demo and the tests: httpbin under gunicorn, moto,
an RFC 9421 verifying server (``verifying_server.py``) and a stand-in API provider for
credential probes (``probe_server.py``) under gunicorn; and a throwaway
PostgreSQL server (``postgres_server``) from the Debian package's binaries."""

from __future__ import annotations

import functools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import NamedTuple


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


def probe_server(hang_seconds: float = 3.0) -> AbstractContextManager[str]:
    """Run ``probe_server:app`` (a stand-in API provider) under gunicorn; yield its base URL.

    The path's first segment picks the answer: ``/ok`` 200, ``/unauthorized`` 401,
    ``/forbidden`` 403, ``/broken`` 500, ``/hang`` sleeps ``hang_seconds`` first (see
    ``examples/probe_server.py``). Threaded workers: a hanging request blocks no other.
    """
    port = free_port()
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    bind = f"127.0.0.1:{port}"
    options = ["--workers", "1", "--threads", "8", "--log-level", "warning"]
    options += ["--graceful-timeout", "1", *_no_control_socket(gunicorn)]
    options += ["--pythonpath", str(Path(__file__).resolve().parent)]
    command = [gunicorn, "--bind", bind, *options, "probe_server:app"]
    return _serving(command, port, env={"PROBE_HANG_SECONDS": str(hang_seconds)})


def moto_server() -> AbstractContextManager[str]:
    """Run moto's server (every AWS service on one port) on a free loopback port; yield its URL.

    It accepts any signature until told otherwise: ``POST /moto-api/reset-auth``
    with body ``0`` makes every later AWS call need a valid SigV4 signature by an
    IAM access key created on it (see ``tests/conftest.py``).
    """
    port = free_port()
    return _serving([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], port)


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries (Debian package ``postgresql``) on this machine."""


POSTGRES_BINARIES = "/usr/lib/postgresql/*/bin"


def _postgres_bin() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding initdb, postgres and pg_isready."""
    found = [
        path
        for path in Path("/").glob(POSTGRES_BINARIES.lstrip("/"))
        if all((path / tool).is_file() for tool in ("initdb", "postgres", "pg_isready"))
    ]
    if not found:
        raise PostgresUnavailable(
            f"PostgreSQL server binaries not found in {POSTGRES_BINARIES} "
            "(Debian package 'postgresql')"
        )

    def version(path: Path) -> tuple[int, ...]:
        number = path.parent.name
        return tuple(int(part) for part in number.split(".")) if number[:1].isdigit() else ()

    return max(found, key=version)


def _server_account() -> pwd.struct_passwd:
    """Whom the server runs as: initdb and postgres refuse root, so root uses ``postgres``."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresUnavailable("running as root and there is no 'postgres' (or 'nobody') user")


class _RunAs(NamedTuple):
    """``subprocess`` ``user``/``group``/``extra_groups``: all None runs the child as us."""

    user: int | None
    group: int | None
    extra_groups: list[int] | None


def _run_as(account: pwd.struct_passwd) -> _RunAs:
    """Run children as ``account``: like ``runuser -u postgres --``, but the child *is*
    the server, with no wrapper process between our signals and the postmaster."""
    if account.pw_uid == os.geteuid():
        return _RunAs(None, None, None)
    return _RunAs(account.pw_uid, account.pw_gid, [])


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_for_postgres(
    bin_dir: Path, port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0
) -> None:
    """Wait until the server on ``port`` accepts TCP connections and then queries (pg_isready)."""
    probe = [str(bin_dir / "pg_isready"), "-p", str(port)]
    probe += ["-q", "-h", "127.0.0.1", "-U", "credsign", "-d", "postgres", "-t", "2"]
    deadline = time.monotonic() + timeout
    listening = False
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"postgres on port {port} exited with {process.returncode}:\n{_tail(log)}"
            )
        if not listening:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    listening = True
            except OSError:
                time.sleep(0.02)
                continue
        if subprocess.run(probe, check=False).returncode == 0:
            return
        time.sleep(0.02)
    raise RuntimeError(f"postgres on port {port} did not start within {timeout} s:\n{_tail(log)}")


def _stop_postgres(process: subprocess.Popen[bytes]) -> None:
    """Fast shutdown (SIGINT: roll back sessions, checkpoint, exit); SIGKILL if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def postgres_server() -> Iterator[str]:
    """Run a throwaway PostgreSQL server on a free loopback port; yield its URL.

    The URL, ``postgresql://credsign@127.0.0.1:PORT/postgres``, needs no password
    (``trust``); ``credsign`` is the superuser. The cluster lives in a temporary
    directory (removed afterwards) owned by the server's account: the current user,
    or ``postgres`` when running as root. ``fsync`` is off: the data need only
    survive its clients, not the machine. Raises ``PostgresUnavailable`` if the
    server binaries (Debian package ``postgresql``) are missing.
    """
    bin_dir = _postgres_bin()
    account = _server_account()
    run_as = _run_as(account)
    # Short path: the socket (<dir>/.s.PGSQL.PORT) must fit in sun_path (107 bytes).
    base = Path(tempfile.mkdtemp(prefix="credsign-pg-"))
    try:
        os.chown(base, account.pw_uid, account.pw_gid)
        data = base / "data"
        log = base / "server.log"
        initdb = [str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "credsign"]
        # --locale C: works whatever this machine's LANG is (initdb fails on unknown ones).
        initdb += ["--no-sync", "--encoding", "UTF8", "--locale", "C"]
        done = subprocess.run(
            initdb,
            capture_output=True,
            text=True,
            check=False,
            user=run_as.user,
            group=run_as.group,
            extra_groups=run_as.extra_groups,
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed ({done.returncode}):\n{done.stderr}")
        port = free_port()
        server = [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(base)]
        server += ["-h", "127.0.0.1", "-F", "-c", "fsync=off"]
        with log.open("wb") as log_file:
            os.fchown(log_file.fileno(), account.pw_uid, account.pw_gid)
            process = subprocess.Popen(
                server,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                user=run_as.user,
                group=run_as.group,
                extra_groups=run_as.extra_groups,
            )
        try:
            _wait_for_postgres(bin_dir, port, process, log)
            yield f"postgresql://credsign@127.0.0.1:{port}/postgres"
        finally:
            _stop_postgres(process)
    finally:
        shutil.rmtree(base, ignore_errors=True)
