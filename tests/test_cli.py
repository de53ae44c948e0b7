"""The ``credsign`` command line, driven end to end in subprocesses.

Independent commands run concurrently (``Cli.all``) to keep the file fast; the
first write to a fresh store always runs alone, since it creates the key file.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest

pytest.importorskip("cryptography")

BEARER = {
    "authType": "BEARER_TOKEN",
    "token": "tok-bearer-SECRET-1",
    "baseUrl": "https://api.example.com/v1",
    "headers": [{"key": "X-Request-Source", "value": "cli-test"}],
}
BASIC = {"authType": "BASIC_AUTH", "username": "api_user", "password": "pw-basic-SECRET/2+"}
API_KEY_QUERY = {
    "authType": "API_KEY",
    "apiKey": {"key": "api_key", "value": "key/query SECRET+3", "position": "query"},
}
HMAC = {"authType": "HMAC_SHA256", "clientId": "cli-client", "clientSecret": "hmac-SECRET-4"}

BASIC_CREDENTIAL = base64.b64encode(b"api_user:pw-basic-SECRET/2+").decode()
SECRETS = (
    "tok-bearer-SECRET-1",
    "pw-basic-SECRET/2+",
    BASIC_CREDENTIAL,
    "key/query SECRET+3",
    "key%2Fquery%20SECRET%2B3",
    "hmac-SECRET-4",
)


class Result(NamedTuple):
    code: int
    out: str
    err: str


class Command(NamedTuple):
    args: tuple[str, ...]
    stdin: str | None = None
    env: dict[str, str] | None = None


def cmd(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Command:
    return Command(args, stdin, env)


class Cli:
    """Runs ``python -m credsign.cli`` against one store in a temporary directory."""

    def __init__(self, directory: Path, master_key: str | None = None) -> None:
        self.directory = directory
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CREDSIGN_")}
        self.env["CREDSIGN_STORE"] = str(directory / "credentials.db")
        if master_key is not None:
            self.env["CREDSIGN_MASTER_KEY"] = master_key

    def all(self, *commands: Command, program: tuple[str, ...] = ()) -> list[Result]:
        """Run ``commands`` concurrently; their results, in order."""
        program = program or (sys.executable, "-m", "credsign.cli")
        running = [
            (
                subprocess.Popen(
                    [*program, *command.args],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=self.env | (command.env or {}),
                    cwd=self.directory,
                ),
                command.stdin,
            )
            for command in commands
        ]
        results = []
        for process, stdin in running:
            out, err = process.communicate(stdin or "", timeout=60)
            assert "Traceback" not in err, err
            results.append(Result(process.returncode, out, err))
        return results

    def __call__(
        self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
    ) -> Result:
        return self.all(cmd(*args, stdin=stdin, env=env))[0]

    def ok(self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
        result = self(*args, stdin=stdin, env=env)
        assert result.code == 0, result
        return result.out

    def create(self, *records: dict[str, Any], integration: str = "crm") -> list[str]:
        """Create ``records`` (concurrently); their authIds."""
        results = self.all(
            *(
                cmd("auth", "create", integration, "--json", "-", stdin=json.dumps(record))
                for record in records
            )
        )
        assert all(result.code == 0 for result in results), results
        return [json.loads(result.out)["authId"] for result in results]


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def random_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


# -- the installed script, --help and usage errors ---------------------------------------


def test_installed_script_and_help(cli: Cli) -> None:
    script = Path(sys.executable).with_name("credsign")
    assert script.exists(), "the console script is missing: pip install -e ."
    [installed] = cli.all(cmd("--help"), program=(str(script),))
    assert installed.code == 0
    assert installed.out.startswith("usage: credsign")
    assert "exit status" in installed.out

    helps = cli.all(cmd("auth", "update", "--help"), cmd("keys", "rotate", "-h"), cmd("sign", "-h"))
    for result in helps:
        assert result.code == 0
        assert result.out.startswith("usage: credsign")
    assert "--if-updated-at" in helps[0].out
    assert "--new-key-env" in helps[1].out
    assert "--reveal" in helps[2].out


def test_usage_errors_exit_2(cli: Cli) -> None:
    results = cli.all(
        cmd(),
        cmd("auth", "create", "crm"),  # --json is required
        cmd("sign", "crm", "auth_x", "GET", "/relative/url"),
    )
    assert [result.code for result in results] == [2] * 3
    assert all(result.out == "" for result in results)
    assert "usage: credsign" in results[0].err
    assert "the following arguments are required: --json" in results[1].err
    assert results[2].err.startswith("credsign: invalid URL '/relative/url'")


# -- records -------------------------------------------------------------------------------


def test_round_trip_and_not_found_exits_3(cli: Cli) -> None:
    [first] = cli.create(BEARER)  # JSON from stdin
    assert (cli.directory / "credentials.db.key").exists()  # no CREDSIGN_MASTER_KEY: key file
    record_file = cli.directory / "basic.json"
    record_file.write_text(json.dumps(BASIC))
    created, got, other = cli.all(
        cmd("auth", "create", "crm", "--json", str(record_file)),  # JSON from a file
        cmd("auth", "get", "crm", first),
        cmd("auth", "list", "crm", "--store", str(cli.directory / "other.db")),  # another store
    )
    assert created.out.startswith('{\n  "authId": "auth_')  # indent 2
    second = json.loads(created.out)["authId"]
    view = json.loads(got.out)
    assert view["authId"] == first
    assert view["integrationId"] == "crm"
    assert view["authType"] == "BEARER_TOKEN"
    assert view["baseUrl"] == "https://api.example.com/v1"
    assert view["headers"] == [{"key": "X-Request-Source", "value": "cli-test"}]
    assert "token" not in view
    assert json.loads(other.out) == []
    assert (cli.directory / "other.db.key").exists()

    patch = json.dumps({"label": "CRM prod", "token": "tok-bearer-SECRET-1b"})
    updated = cli.ok("auth", "update", "crm", first, "--json", "-", stdin=patch)
    assert json.loads(updated)["label"] == "CRM prod"
    assert json.loads(updated)["updatedAt"] > view["updatedAt"]
    listing, signed = cli.all(
        cmd("auth", "list", "crm"),
        cmd("sign", "crm", first, "GET", "https://api.example.com/v1/x", "--reveal"),
    )
    assert {item["authId"] for item in json.loads(listing.out)} == {first, second}
    assert "Authorization: Bearer tok-bearer-SECRET-1b\n" in signed.out

    deleted = cli("auth", "delete", "crm", second)
    assert (deleted.code, deleted.out, deleted.err) == (0, "", "")
    for out in (created.out, got.out, listing.out, updated):
        assert_no_secret(out)
        assert "tok-bearer-SECRET-1b" not in out

    # Gone: every command naming it exits 3.
    not_found = cli.all(
        cmd("auth", "get", "crm", second),
        cmd("auth", "delete", "crm", second),
        cmd("auth", "update", "crm", second, "--json", "-", stdin='{"label": "x"}'),
        cmd("sign", "crm", second, "GET", "https://api.example.com/"),
    )
    for result in not_found:
        assert result.code == 3, result
        assert result.out == ""
        assert result.err == f"credsign: not found: no credential {second!r} in integration 'crm'\n"


def test_invalid_input_exits_2_with_a_message(cli: Cli) -> None:
    [auth_id] = cli.create(BEARER)
    patch = json.dumps({"authType": "BASIC_AUTH", "username": "u", "password": "p"})
    bad_json, invalid, no_file, refused = cli.all(
        cmd("auth", "create", "crm", "--json", "-", stdin="{not json"),
        cmd("auth", "create", "crm", "--json", "-", stdin='{"authType": "BEARER_TOKEN"}'),
        cmd("auth", "create", "crm", "--json", "missing.json"),
        cmd("auth", "update", "crm", auth_id, "--json", "-", stdin=patch),
    )
    assert bad_json.code == 2
    assert bad_json.err.startswith("credsign: invalid record: record: is not valid JSON")
    assert (invalid.code, invalid.err) == (
        2,
        "credsign: invalid record: token: is required (or give organizations)\n",
    )
    assert no_file.code == 2
    assert "cannot read JSON 'missing.json'" in no_file.err
    assert refused.code == 2
    assert refused.err == "credsign: invalid record: authType is permanent (BEARER_TOKEN)\n"
    assert refused.out == ""


def test_if_updated_at_conflict_exits_4(cli: Cli) -> None:
    view = json.loads(cli.ok("auth", "create", "crm", "--json", "-", stdin=json.dumps(BEARER)))
    auth_id, seen = view["authId"], view["updatedAt"]
    first = cli.ok(
        "auth", "update", "crm", auth_id, "--json", "-", "--if-updated-at", seen,
        stdin='{"label": "a"}',
    )  # fmt: skip
    stale = cli(
        "auth", "update", "crm", auth_id, "--json", "-", "--if-updated-at", seen,
        stdin='{"label": "b"}',
    )  # fmt: skip
    assert json.loads(first)["label"] == "a"
    assert stale.code == 4
    assert stale.err.startswith(f"credsign: conflict: {auth_id} changed at ")
    assert stale.out == ""


# -- sign --------------------------------------------------------------------------------------


def test_sign_masks_secrets_unless_revealed(cli: Cli) -> None:
    [bearer] = cli.create(BEARER)
    basic, api_key, hmac = cli.create(BASIC, API_KEY_QUERY, HMAC)
    url = "https://api.example.com/v1/orders?page=2"
    results = cli.all(
        *(
            cmd("sign", "crm", auth_id, method, url, *reveal)
            for auth_id in (bearer, basic, api_key, hmac)
            for method, reveal in (("get", ()), ("GET", ("--reveal",)))
        )
    )
    assert all(result.code == 0 for result in results), results
    outs = [result.out for result in results]
    for masked in outs[::2]:
        assert_no_secret(masked)
        lines = masked.split("\n")
        assert lines[0].startswith(f"GET {url}")
        assert lines[1] == "Host: api.example.com"
        assert masked.endswith("\n\n")  # headers, then a blank line (no body)
    (bearer_masked, bearer_shown, basic_masked, basic_shown) = outs[:4]
    (key_masked, key_shown, hmac_masked, hmac_shown) = outs[4:]

    assert "Authorization: Bearer ****\n" in bearer_masked
    assert "X-Request-Source: cli-test\n" in bearer_masked  # static headers are not secrets
    assert "Authorization: Bearer tok-bearer-SECRET-1\n" in bearer_shown

    assert "Authorization: Basic ****\n" in basic_masked
    assert f"Authorization: Basic {BASIC_CREDENTIAL}\n" in basic_shown

    assert key_masked.startswith(f"GET {url}&api_key=****\n")
    assert key_shown.startswith(f"GET {url}&api_key=key%2Fquery%20SECRET%2B3\n")

    assert "\nSignature: sig1=:****:\n" in hmac_masked
    assert 'keyid="cli-client"' in hmac_masked  # Signature-Input is not a secret
    assert "\nSignature: sig1=:" in hmac_shown
    assert "\nSignature: sig1=:****:\n" not in hmac_shown


def test_sign_with_headers_and_body(cli: Cli) -> None:
    [auth_id] = cli.create(HMAC)
    with_data, from_stdin, bad_header, injected = cli.all(
        cmd(
            "sign", "crm", auth_id, "POST", "https://api.example.com/v1/orders",
            "-H", "Content-Type: application/json", "-H", "X-Trace:  abc 123 ",
            "-d", '{"qty": 2}',
        ),
        cmd(
            "sign", "crm", auth_id, "PUT", "https://api.example.com/x", "--data-file", "-",
            stdin="raw body",
        ),
        cmd("sign", "crm", auth_id, "GET", "https://api.example.com/", "-H", "no colon"),
        cmd("sign", "crm", auth_id, "GET", "https://api.example.com/", "-H", "X-A: 1\r\nX-B: 2"),
    )  # fmt: skip
    head, blank, body = with_data.out.partition("\n\n")
    lines = head.split("\n")
    assert lines[0] == "POST https://api.example.com/v1/orders"
    assert "Content-Type: application/json" in lines
    assert "X-Trace: abc 123" in lines
    assert "Content-Length: 10" in lines
    assert any(line.startswith("Content-Digest: sha-256=:") for line in lines)
    assert "Signature: sig1=:****:" in lines
    assert (blank, body) == ("\n\n", '{"qty": 2}\n')

    assert from_stdin.code == 0
    assert from_stdin.out.startswith("PUT https://api.example.com/x\n")
    assert from_stdin.out.endswith("\n\nraw body\n")
    assert bad_header.code == 2
    assert "expected 'Name: value'" in bad_header.err
    assert injected.code == 2
    assert "no CR, LF or other control characters" in injected.err


def test_sign_outside_base_url_exits_1(cli: Cli) -> None:
    [auth_id] = cli.create(BEARER)
    result = cli("sign", "crm", auth_id, "GET", "https://evil.example.net/v1/orders")
    assert result.code == 1
    assert result.err.startswith("credsign: refusing to send BEARER_TOKEN credentials")
    assert "outside their scope https://api.example.com/v1" in result.err
    assert result.out == ""
    assert_no_secret(result.err)


def test_sign_never_uses_the_network(cli: Cli) -> None:
    [auth_id] = cli.create(API_KEY_QUERY)
    no_network = (
        "import socket, sys\n"
        "def refuse(*args, **kwargs):\n"
        "    raise OSError('network access attempted')\n"
        "socket.socket.connect = socket.socket.connect_ex = refuse\n"
        "socket.create_connection = socket.getaddrinfo = refuse\n"
        "from credsign.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    [result] = cli.all(
        cmd("sign", "crm", auth_id, "DELETE", "https://no-such-host.invalid/items/7"),
        program=(sys.executable, "-c", no_network),
    )
    assert result.code == 0, result
    assert result.out.startswith("DELETE https://no-such-host.invalid/items/7?api_key=****\n")


# -- keys ------------------------------------------------------------------------------------


def test_keys_rotate_with_key_file(cli: Cli) -> None:
    [bearer] = cli.create(BEARER)
    [basic] = cli.create(BASIC, integration="billing")
    key_file = cli.directory / "credentials.db.key"
    old_key = key_file.read_text().strip()
    out = cli.ok("keys", "rotate")
    assert out.startswith("re-encrypted 2 records under master key ")
    new_key = key_file.read_text().strip()
    assert new_key != old_key
    assert old_key not in out
    assert new_key not in out
    got, signed, stale = cli.all(
        cmd("auth", "get", "crm", bearer),
        cmd("sign", "billing", basic, "GET", "https://b.example/", "--reveal"),
        cmd(
            "sign",
            "billing",
            basic,
            "GET",
            "https://b.example/",
            env={"CREDSIGN_MASTER_KEY": old_key},
        ),
    )
    assert json.loads(got.out)["authId"] == bearer
    assert f"Authorization: Basic {BASIC_CREDENTIAL}\n" in signed.out
    assert stale.code == 5  # the old key no longer decrypts
    assert stale.err.startswith("credsign: integrity error:")


def test_master_key_from_environment(tmp_path: Path) -> None:
    old_key, new_key = random_key(), random_key()
    cli = Cli(tmp_path, master_key=old_key)
    [auth_id] = cli.create(BEARER)
    assert not (tmp_path / "credentials.db.key").exists()

    refused, unset = cli.all(
        cmd("keys", "rotate"), cmd("keys", "rotate", "--new-key-env", "UNSET_VARIABLE")
    )
    assert refused.code == 2
    assert "--new-key-env" in refused.err
    assert unset.code == 2
    assert unset.err.startswith("credsign: $UNSET_VARIABLE is not set")

    rotated = cli("keys", "rotate", "--new-key-env", "NEW_KEY", env={"NEW_KEY": new_key})
    assert rotated.code == 0, rotated
    assert rotated.out == f"re-encrypted 1 record under master key {_key_id(new_key)}\n"
    assert "set CREDSIGN_MASTER_KEY to the value of $NEW_KEY" in rotated.err
    assert new_key not in rotated.out + rotated.err

    url = "https://api.example.com/v1/x"
    stale, signed = cli.all(
        cmd("sign", "crm", auth_id, "GET", url),
        cmd("sign", "crm", auth_id, "GET", url, env={"CREDSIGN_MASTER_KEY": new_key}),
    )
    assert stale.code == 5
    assert signed.code == 0
    assert "Authorization: Bearer ****\n" in signed.out
    assert_no_secret(signed.out)


def _key_id(key: str) -> str:
    from credsign.store import MasterKey

    return MasterKey.parse(key).key_id
