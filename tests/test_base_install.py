"""credsign installed with its base dependencies only (httpx, idna, pydantic).

It imports and signs; each feature of an extra, at its point of use, raises an
ImportError naming the extra to install (``pip install "credsign[store]"``), and
the pytest plugin loads without the extras. The virtual environment is built once
(``pip install -e .``, which installs no extra) under ``.cache/`` and reused while
pyproject.toml, the checkout's path and the interpreter stay the same.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from credsign.extras import require

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
OPTIONAL = ("botocore", "cryptography", "hypothesis", "psycopg", "requests", "urllib3")

BEARER = """
import httpx
import credsign

record = credsign.parse_record(
    {"authType": "BEARER_TOKEN", "token": "t0ken", "baseUrl": "https://api.example.com"}
)
"""


def _venv_key() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update(f"{ROOT}\0{sys.version}\0{sys.executable}".encode())
    return digest.hexdigest()[:16]


def _run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``command``'s outcome, without PYTHON* variables that would reach into this venv."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTHON")}
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def _build(venv: Path) -> None:
    made = _run([sys.executable, "-m", "venv", str(venv)])
    if made.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        pytest.skip(f"cannot create a virtual environment here: {made.stderr.strip()[-500:]}")
    # The plugin test needs pytest; pytest is not a credsign extra.
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-e", str(ROOT)]
    installed = _run([*pip, "pytest"])
    if installed.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        pytest.fail(f"pip install into the base venv failed:\n{installed.stderr[-3000:]}")


@pytest.fixture(scope="session")
def base_python() -> Path:
    """The python of a venv holding credsign and its base dependencies, built once."""
    CACHE.mkdir(exist_ok=True)
    venv = CACHE / f"base-venv-{_venv_key()}"
    with open(CACHE / "base-venv.lock", "w") as lock:  # one builder at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = venv / "credsign-base-install"  # written last: the venv is complete
        if not stamp.exists():
            for stale in CACHE.glob("base-venv-*"):  # older keys, or this one half built
                shutil.rmtree(stale, ignore_errors=True)
            _build(venv)
            stamp.touch()
    return venv / "bin" / "python"


def _python(python: Path | str, program: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``program`` after the lines of BEARER (which define ``record``)."""
    return _run([str(python), "-c", BEARER + textwrap.dedent(program)], cwd=cwd)


def test_the_venv_has_no_extra(base_python: Path, tmp_path: Path) -> None:
    run = _python(
        base_python,
        f"""
        import importlib.util
        print([name for name in {OPTIONAL!r} if importlib.util.find_spec(name)])
        """,
        tmp_path,
    )
    assert run.stdout.strip() == "[]", run.stdout + run.stderr


def test_imports_and_signs_without_extras(base_python: Path, tmp_path: Path) -> None:
    program = """
        import sys
        from importlib import metadata

        import credsign.cli
        import credsign.providers
        import credsign.verify
        from credsign import HttpxAuth
        from credsign.testing import VerifyingTransport

        seen = []

        def answer(request):
            seen.append(request)
            return httpx.Response(204)

        with httpx.Client(auth=HttpxAuth(record), transport=httpx.MockTransport(answer)) as client:
            client.get("https://api.example.com/orders")
        assert seen[0].headers["Authorization"] == "Bearer t0ken"
        aws4 = credsign.parse_record(
            {
                "authType": "AWS4",
                "accessKey": "AKIDEXAMPLE",
                "secretKey": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                "region": "us-east-1",
                "service": "service",
            }
        )
        with httpx.Client(auth=HttpxAuth(aws4), transport=httpx.MockTransport(answer)) as client:
            client.get("https://example.amazonaws.com/")
        assert "Credential=AKIDEXAMPLE/" in seen[1].headers["Authorization"]
        with httpx.Client(auth=HttpxAuth(record), transport=VerifyingTransport(record)) as client:
            assert client.get("https://api.example.com/orders").status_code == 200
        assert credsign.__version__ == metadata.version("credsign")
        print(sorted(name for name in sys.modules if name.split(".")[0] in OPTIONAL))
    """
    run = _python(base_python, f"OPTIONAL = {OPTIONAL!r}\n" + textwrap.dedent(program), tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == "[]"


#: Each point of use of an extra, and the extra its ImportError must name.
USES = {
    "from credsign import CredentialStore": "store",
    "credsign.CredentialStore.open": "store",
    "import credsign.store": "store",
    "from credsign.store.crypto import MasterKey": "store",
    "from credsign import RequestsAuth": "requests",
    "import credsign.adapters.requests": "requests",
    "credsign.testing.VerifyingAdapter(record)": "requests",
    "from credsign.testing import records": "testing",
    "import credsign.testing.strategies": "testing",
    "credsign.aws.from_botocore(object())": "aws",
}


@pytest.fixture(scope="module")
def raised(base_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What each of USES raises in the base venv, all tried in one interpreter."""
    program = f"""
        import json
        import credsign.aws
        import credsign.testing

        raised = {{}}
        for use in {list(USES)!r}:
            try:
                exec(use)
            except ImportError as error:
                raised[use] = f"{{type(error).__name__}}: {{error}}"
            else:
                raised[use] = "nothing"
        print(json.dumps(raised))
    """
    run = _python(base_python, program, tmp_path_factory.mktemp("uses"))
    assert run.returncode == 0, run.stdout + run.stderr
    outcome: dict[str, str] = json.loads(run.stdout)
    return outcome


@pytest.mark.parametrize("use", USES)
def test_a_missing_extra_names_its_install_command(raised: dict[str, str], use: str) -> None:
    assert raised[use].startswith("ImportError: "), raised[use]
    assert f'pip install "credsign[{USES[use]}]"' in raised[use]


def test_the_cli_says_which_extra_the_store_needs(base_python: Path, tmp_path: Path) -> None:
    command = [str(base_python), "-m", "credsign.cli", "auth", "list", "crm"]
    run = _run([*command, "--store", str(tmp_path / "s.db")], cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stderr.startswith("credsign: "), run.stderr
    assert 'pip install "credsign[store]"' in run.stderr
    assert "Traceback" not in run.stderr


def test_pytest_plugin_loads_and_its_fixtures_say_what_is_missing(
    base_python: Path, tmp_path: Path
) -> None:
    (tmp_path / "test_user.py").write_text(
        BEARER
        + textwrap.dedent(
            """
            def test_transport(verifying_transport):
                transport = verifying_transport(record)
                with httpx.Client(auth=credsign.HttpxAuth(record), transport=transport) as client:
                    assert client.get("https://api.example.com/orders").status_code == 200

            def test_session(verifying_session):
                verifying_session(record)
            """
        ),
    )
    run = _run(
        [str(base_python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
        cwd=tmp_path,
    )
    assert "1 passed, 1 error" in run.stdout, run.stdout + run.stderr
    error = "ImportError: verifying_session needs the 'requests' package"
    assert f'{error}: pip install "credsign[requests]"' in run.stdout, run.stdout


def test_a_postgresql_store_without_psycopg_names_the_store_extra(tmp_path: Path) -> None:
    """The dev venv with psycopg hidden: SQLite stores work, PostgreSQL ones say what to install."""
    program = f"""
        import sys
        sys.modules["psycopg"] = None  # as if not installed
        from credsign import CredentialStore

        with CredentialStore.open({str(tmp_path / "s.db")!r}) as store:
            store.create("crm", dict(authType="NO_AUTH"))
        try:
            CredentialStore.open("postgresql://user@127.0.0.1:1/db", master_key=bytes(32))
        except ImportError as error:
            print(type(error).__name__, error, sep=": ")
    """
    run = _python(sys.executable, program, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("ImportError: "), run.stdout
    assert 'pip install "credsign[store]"' in run.stdout


def test_require_names_the_extra_of_a_missing_package_or_parent() -> None:
    for module, missing in [
        ("credsign_absent", "credsign_absent"),
        ("credsign_absent.sub", "credsign_absent"),
    ]:
        with pytest.raises(ImportError) as raised:
            require(module, "store", "the feature")
        assert type(raised.value) is ImportError
        assert str(raised.value) == (
            f'the feature needs the {missing!r} package: pip install "credsign[store]"'
        )
        assert raised.value.name == missing
        assert raised.value.__context__ is None  # no bare ModuleNotFoundError behind it


def test_require_lets_a_broken_installed_package_fail_as_it_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A package that is there but misses one of its own dependencies is not a missing extra."""
    (tmp_path / "credsign_broken").mkdir()
    (tmp_path / "credsign_broken" / "__init__.py").write_text("import credsign_broken_dep\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as raised:
        require("credsign_broken", "store", "the feature")
    assert raised.value.name == "credsign_broken_dep"
    assert "pip install" not in str(raised.value)
