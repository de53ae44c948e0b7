"""The ``credsign`` command: manage stored credential records, preview signed requests.

Data (JSON views, signed requests) goes to stdout; messages go to stderr. Keys
never appear on a command line: the master key comes from ``$CREDSIGN_MASTER_KEY``
or the key file beside the SQLite database, and a new key for ``keys rotate`` is
named by the environment variable holding it (``--new-key-env``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import sys
import textwrap
from base64 import b64encode
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus, unquote_plus

import httpx

from credsign.adapters.httpx import HttpxAuth
from credsign.errors import (
    ConflictError,
    CredsignError,
    IntegrityError,
    NotFoundError,
    RecordError,
    StoreValidationError,
)
from credsign.records import ApiKeyRecord, BasicAuthRecord, Record
from credsign.signing import compile_signer

if TYPE_CHECKING:
    from credsign.store import CredentialStore, MasterKey

PROG = "credsign"
MASK = "****"

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_CONFLICT = 4
EXIT_INTEGRITY = 5
EXIT_CREDENTIAL_REJECTED = 6

#: Record fields holding a secret (top level); ``apiKey.value`` is the nested one.
_SECRET_FIELDS = ("password", "token", "secretKey", "sessionToken", "clientSecret")
#: Headers whose value is a credential after its first word (the scheme is kept).
_SCHEME_HEADERS = frozenset({"authorization", "proxy-authorization"})
#: Query parameters always masked (besides an API key's own parameter).
_SECRET_PARAMS = frozenset({"x-amz-signature", "x-amz-security-token"})
_SIGNATURE_BYTES = re.compile(r":[^:]*:")  # RFC 8941 byte sequences in a Signature header
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110: methods, header names
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e]*")  # visible ASCII, space and tab

EXIT_CODES_HELP = """\
exit status:
  0  success
  1  any other error (e.g. a URL outside the record's baseUrl, store unreachable)
  2  usage error or invalid input (bad options, invalid record JSON, refused update)
  3  no such credential record
  4  conflict (the record changed since --if-updated-at)
  5  integrity error (wrong master key, or a tampered row)
  6  the provider refused the credentials (credentials store: probe answered 401/403)

environment:
  CREDSIGN_STORE       the SQLite database path (default: $XDG_DATA_HOME/credsign/credentials.db)
  CREDSIGN_MASTER_KEY  base64 of the 32-byte master key; when unset, SQLite stores use
                       a key file beside the database (<db>.key, created with mode 0600)
"""


class CliError(Exception):
    """An expected failure: a message for stderr and the exit status."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


# -- input -------------------------------------------------------------------------


def _read_input(source: str, what: str) -> bytes:
    """The bytes of a file, or of stdin for ``-``."""
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        with open(source, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise CliError(f"cannot read {what} {source!r}: {error.strerror}", EXIT_USAGE) from None


def _parse_header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    name, value = name.strip(), value.strip(" \t")
    if not colon or not _TOKEN.fullmatch(name):
        raise CliError(f"invalid header {text!r}: expected 'Name: value'", EXIT_USAGE)
    if not _FIELD_VALUE.fullmatch(value):
        raise CliError(
            f"invalid header {name!r}: the value must be visible ASCII (no CR, LF or other "
            "control characters)",
            EXIT_USAGE,
        )
    return name, value


def _method(text: str) -> str:
    if not _TOKEN.fullmatch(text):
        raise argparse.ArgumentTypeError(f"invalid method {text!r}")
    return text.upper()


def _target_url(text: str) -> httpx.URL:
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as error:
        raise CliError(f"invalid URL {text!r}: {error}", EXIT_USAGE) from None
    if url.scheme not in ("http", "https") or not url.host:
        raise CliError(f"invalid URL {text!r}: expected an absolute http(s) URL", EXIT_USAGE)
    return url


# -- the store ---------------------------------------------------------------------


def _store_url(value: str | None) -> str | None:
    """``--store``: a URL, or a plain SQLite path (made ``sqlite://PATH``)."""
    if value is None or "://" in value:
        return value
    return "sqlite://" + value


def _open_store(
    args: argparse.Namespace, previous_keys: Iterable[MasterKey] = ()
) -> CredentialStore:
    try:
        from credsign.store import CredentialStore
    except ImportError as error:
        raise CliError(
            f"the credential store needs the 'store' extra ({error.name} is missing): "
            "pip install 'credsign[store]'"
        ) from None
    try:
        return CredentialStore.open(_store_url(args.store), previous_keys=previous_keys)
    except StoreValidationError as error:
        raise CliError(f"cannot open store: {error}", EXIT_USAGE) from None
    except ImportError as error:
        raise CliError(f"cannot open store: {error.name} is not installed") from None
    except OSError as error:
        raise CliError(f"cannot open store: {error}") from None


def _database_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [sqlite3.Error]
    psycopg = sys.modules.get("psycopg")  # only ever imported for PostgreSQL stores
    if psycopg is not None:
        errors.append(psycopg.Error)
    return tuple(errors)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


# -- commands ------------------------------------------------------------------------


def _auth_create(args: argparse.Namespace) -> int:
    body = _read_input(args.json, "JSON")
    with _open_store(args) as store:
        _print_json(store.create(args.integration, body))
    return EXIT_OK


def _auth_get(args: argparse.Namespace) -> int:
    with _open_store(args) as store:
        _print_json(store.get(args.integration, args.auth_id))
    return EXIT_OK


def _auth_list(args: argparse.Namespace) -> int:
    with _open_store(args) as store:
        _print_json(store.list(args.integration))
    return EXIT_OK


def _auth_update(args: argparse.Namespace) -> int:
    patch = _read_input(args.json, "JSON")
    with _open_store(args) as store:
        view = store.update(args.integration, args.auth_id, patch, if_updated_at=args.if_updated_at)
        _print_json(view)
    return EXIT_OK


def _auth_delete(args: argparse.Namespace) -> int:
    with _open_store(args) as store:
        store.delete(args.integration, args.auth_id)
    return EXIT_OK


def _keys_rotate(args: argparse.Namespace) -> int:
    from credsign.store import MasterKey

    from_environment = bool(os.environ.get("CREDSIGN_MASTER_KEY"))
    new_key: MasterKey | None = None
    if args.new_key_env is not None:
        value = os.environ.get(args.new_key_env, "").strip()
        if not value:
            raise CliError(
                f"${args.new_key_env} is not set: it must hold the new master key "
                "(base64 of 32 bytes)",
                EXIT_USAGE,
            )
        try:
            new_key = MasterKey.parse(value)
        except StoreValidationError as error:
            raise CliError(f"invalid key in ${args.new_key_env}: {error}", EXIT_USAGE) from None
    elif from_environment:
        raise CliError(
            "CREDSIGN_MASTER_KEY is set, so a generated key could not be kept anywhere: "
            "put the new key (base64 of 32 bytes) in an environment variable and pass "
            "its name with --new-key-env NAME",
            EXIT_USAGE,
        )
    # The new key also reads, so a rotation interrupted half way can be run again.
    with _open_store(args, previous_keys=() if new_key is None else (new_key,)) as store:
        count = store.rotate_master_key(new_key)
        key_id = store.keyring.current.key_id
    noun = "record" if count == 1 else "records"
    sys.stdout.write(f"re-encrypted {count} {noun} under master key {key_id}\n")
    if from_environment:
        sys.stderr.write(
            f"{PROG}: now set CREDSIGN_MASTER_KEY to the value of ${args.new_key_env}: "
            "the old key no longer decrypts this store\n"
        )
    return EXIT_OK


def _secret_strings(record: Record) -> list[str]:
    """Every secret of ``record`` as it may appear in a request, longest first."""
    data = record.to_dict(reveal_secrets=True)
    found = [data.get(name) for name in _SECRET_FIELDS]
    api_key = data.get("apiKey")
    if isinstance(api_key, dict):
        found.append(api_key.get("value"))
    if isinstance(record, BasicAuthRecord):
        pair = f"{record.username}:{record.password.get_secret_value() if record.password else ''}"
        found.append(b64encode(pair.encode()).decode("ascii"))
    variants: set[str] = set()
    for secret in found:
        if isinstance(secret, str) and secret:
            variants |= {secret, quote(secret, safe=""), quote_plus(secret, safe=""), quote(secret)}
    return sorted(variants, key=len, reverse=True)


def _mask_header(name: str, value: str, secret_headers: frozenset[str]) -> str:
    lower = name.lower()
    if lower in _SCHEME_HEADERS:
        scheme, space, _ = value.partition(" ")
        return f"{scheme} {MASK}" if space else MASK
    if lower == "signature":
        return _SIGNATURE_BYTES.sub(f":{MASK}:", value)
    if lower in secret_headers:
        return MASK
    return value


def _mask_url(url: str, secret_params: frozenset[str]) -> str:
    base, question, rest = url.partition("?")
    if not question:
        return url
    query, hash_mark, fragment = rest.partition("#")
    parts = []
    for part in query.split("&"):
        raw_name, equals, _ = part.partition("=")
        if equals and unquote_plus(raw_name).lower() in secret_params:
            part = f"{raw_name}={MASK}"
        parts.append(part)
    return f"{base}?{'&'.join(parts)}{hash_mark}{fragment}"


def _sign(args: argparse.Namespace) -> int:
    headers = [_parse_header(text) for text in args.header]
    body: bytes | None = None
    if args.data is not None:
        body = os.fsencode(args.data)  # as given, even bytes that are not UTF-8
    elif args.data_file is not None:
        body = _read_input(args.data_file, "data file")
    url = _target_url(args.url)
    request = httpx.Request(args.method, url, headers=headers, content=body)
    with _open_store(args) as store:
        record = store.record(args.integration, args.auth_id)
    flow = HttpxAuth(compile_signer(record)).sync_auth_flow(request)
    signed = next(flow)  # signs in place; nothing is sent
    flow.close()

    encoding = signed.headers.encoding
    header_lines = [
        (name.decode(encoding), value.decode(encoding)) for name, value in signed.headers.raw
    ]
    content = signed.content
    try:
        body_text = content.decode()
    except UnicodeDecodeError:
        body_text = f"[{len(content)} bytes of binary data]"
    request_line = f"{signed.method} {signed.url}"

    if not args.reveal:
        secret_headers = {"x-amz-security-token"}
        secret_params = set(_SECRET_PARAMS)
        if isinstance(record, ApiKeyRecord):
            for placement in record.placements():
                names = secret_params if placement.position == "query" else secret_headers
                names.add(placement.key.lower())
        request_line = _mask_url(request_line, frozenset(secret_params))
        header_lines = [
            (name, _mask_header(name, value, frozenset(secret_headers)))
            for name, value in header_lines
        ]
    lines = [request_line, *(f"{name}: {value}" for name, value in header_lines), ""]
    if content:
        lines.append(body_text if body_text.endswith("\n") else body_text + "\n")
    output = "\n".join(lines)
    if not args.reveal:
        for secret in _secret_strings(record):
            output = output.replace(secret, MASK)
    sys.stdout.write(output if content else output + "\n")
    return EXIT_OK


def _credential_fields(args: argparse.Namespace) -> dict[str, str]:
    """``--field NAME=VALUE`` and ``--field-env NAME=VARIABLE`` as one mapping."""
    fields: dict[str, str] = {}

    def add(name: str, value: str) -> None:
        if not name:
            raise CliError("a credential field needs a name: NAME=VALUE", EXIT_USAGE)
        if name in fields:
            raise CliError(f"credential field {name!r} is given twice", EXIT_USAGE)
        fields[name] = value

    for text in args.field:
        name, equals, value = text.partition("=")
        if not equals:
            raise CliError(f"invalid --field {name!r}: expected NAME=VALUE", EXIT_USAGE)
        add(name, value)
    for text in args.field_env:
        name, equals, variable = text.partition("=")
        if not equals or not variable:
            raise CliError(f"invalid --field-env {text!r}: expected NAME=VARIABLE", EXIT_USAGE)
        value = os.environ.get(variable)
        if value is None:
            raise CliError(f"${variable} (for credential field {name!r}) is not set", EXIT_USAGE)
        add(name, value)
    return fields


def _credentials_store(args: argparse.Namespace) -> int:
    from credsign.providers import CredentialValidationError, get_provider, store_credentials

    fields = _credential_fields(args)
    try:
        provider = get_provider(args.provider)
    except StoreValidationError as error:
        raise CliError(str(error), EXIT_USAGE) from None
    with _open_store(args) as store:
        try:
            result = store_credentials(
                store,
                provider,
                fields,
                args.label,
                validate=args.validate,
                base_url=args.base_url,
                timeout=args.timeout,
            )
        except CredentialValidationError as error:
            raise CliError(str(error), EXIT_CREDENTIAL_REJECTED) from None
        except StoreValidationError as error:
            raise CliError(f"invalid credentials: {error}", EXIT_USAGE) from None
    _print_json(result)
    return EXIT_OK


def _providers_list(args: argparse.Namespace) -> int:
    from credsign.providers import list_providers

    keep = ("name", "title", "authType", "requiredFields", "baseUrl", "docs")
    _print_json(
        [
            {key: value for key, value in provider.to_dict().items() if key in keep}
            for provider in list_providers()
        ]
    )
    return EXIT_OK


def _providers_show(args: argparse.Namespace) -> int:
    from credsign.providers import get_provider

    try:
        provider = get_provider(args.provider)
    except StoreValidationError as error:
        raise CliError(str(error), EXIT_NOT_FOUND) from None
    _print_json(provider.to_dict())
    return EXIT_OK


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid timeout {text!r}") from None
    if not 0 < value <= 300:
        raise argparse.ArgumentTypeError("the timeout is between 0 and 300 seconds")
    return value


# -- the parser ----------------------------------------------------------------------


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("credsign")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    store_help = (
        "the store: a SQLite path, sqlite:///PATH or postgresql://... "
        "(default: $CREDSIGN_STORE, else the embedded SQLite database)"
    )
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Manage stored credential records and preview requests signed with them.",
        epilog=EXIT_CODES_HELP,
        formatter_class=formatter,
    )
    parser.add_argument("--store", metavar="URL", default=None, help=store_help)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    # Also accepted after a subcommand; SUPPRESS keeps a value given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", metavar="URL", default=argparse.SUPPRESS, help=store_help)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(
        group: argparse._SubParsersAction[argparse.ArgumentParser],
        name: str,
        summary: str,
        handler: Callable[[argparse.Namespace], int],
        description: str | None = None,
    ) -> argparse.ArgumentParser:
        sub = group.add_parser(
            name,
            help=summary,
            description=textwrap.fill(description or summary, 79),
            epilog=EXIT_CODES_HELP,
            formatter_class=formatter,
            parents=[common],
        )
        sub.set_defaults(handler=handler)
        return sub

    def integration(sub: argparse.ArgumentParser, auth_id: bool = True) -> None:
        sub.add_argument("integration", metavar="INTEGRATION", help="the integration id")
        if auth_id:
            sub.add_argument("auth_id", metavar="AUTH_ID", help="the record id (auth_...)")

    auth = commands.add_parser(
        "auth",
        help="create, read, update and delete credential records",
        description=textwrap.fill(
            "Create, read, update and delete credential records. "
            "Records are printed as views: never with a secret.",
            79,
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=formatter,
    )
    auth_commands = auth.add_subparsers(dest="auth_command", metavar="ACTION", required=True)
    json_help = "the record JSON: a file, or - for stdin"

    sub = command(auth_commands, "create", "store a new record; print its view", _auth_create)
    integration(sub, auth_id=False)
    sub.add_argument("--json", metavar="FILE|-", required=True, help=json_help)

    sub = command(auth_commands, "get", "print a record's view", _auth_get)
    integration(sub)

    sub = command(auth_commands, "list", "print the views of an integration's records", _auth_list)
    integration(sub, auth_id=False)

    sub = command(
        auth_commands,
        "update",
        "change the fields given; print the new view",
        _auth_update,
        "Change the fields present in the JSON patch; the others stay. authType is "
        "permanent; a headers list replaces all static headers; apiKey merges.",
    )
    integration(sub)
    sub.add_argument("--json", metavar="FILE|-", required=True, help="the patch JSON: " + json_help)
    sub.add_argument(
        "--if-updated-at",
        metavar="TS",
        help="only if the record's updatedAt is still TS (else exit 4)",
    )

    sub = command(auth_commands, "delete", "delete a record", _auth_delete)
    integration(sub)

    keys = commands.add_parser(
        "keys",
        help="manage the master key",
        description="Manage the master key that seals secrets at rest.",
        epilog=EXIT_CODES_HELP,
        formatter_class=formatter,
    )
    keys_commands = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    sub = command(
        keys_commands,
        "rotate",
        "re-encrypt every record under a new master key",
        _keys_rotate,
        "Re-encrypt every record under a new master key; print how many. With a key "
        "file, a new key is generated and replaces it. With $CREDSIGN_MASTER_KEY set, "
        "the new key must come from the environment variable named by --new-key-env; "
        "afterwards, set CREDSIGN_MASTER_KEY to it. Safe to run again if interrupted.",
    )
    sub.add_argument(
        "--new-key-env",
        metavar="NAME",
        help="the environment variable holding the new key (base64 of 32 bytes)",
    )

    sub = command(
        commands,
        "sign",
        "print a request signed with a stored record, without sending it",
        _sign,
        "Build the request, sign it with the stored record and print it (request line, "
        "headers, blank line, body) without sending it. Credentials are masked as **** "
        "unless --reveal. A URL outside the record's baseUrl is refused (exit 1).",
    )
    integration(sub)
    sub.add_argument("method", metavar="METHOD", type=_method, help="e.g. GET, POST")
    sub.add_argument("url", metavar="URL", help="the absolute http(s) URL")
    sub.add_argument(
        "-H",
        "--header",
        metavar="'NAME: VALUE'",
        action="append",
        default=[],
        help="a request header (repeatable)",
    )
    data = sub.add_mutually_exclusive_group()
    data.add_argument("-d", "--data", metavar="DATA", help="the request body")
    data.add_argument("--data-file", metavar="FILE|-", help="the request body from a file or stdin")
    sub.add_argument(
        "--reveal", action="store_true", help="print credentials in clear (careful: secrets)"
    )

    credentials = commands.add_parser(
        "credentials",
        help="store a provider's credentials (see `providers`)",
        description=textwrap.fill(
            "Store credentials for a known API provider: each field goes where the "
            "provider documents it, and the provider is probed once to check them.",
            79,
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=formatter,
    )
    credentials_commands = credentials.add_subparsers(
        dest="credentials_command", metavar="ACTION", required=True
    )
    sub = command(
        credentials_commands,
        "store",
        "validate and store a provider's credentials; print the result",
        _credentials_store,
        "Build an API_KEY record from the provider's catalog entry and the fields given, "
        "probe the provider with it (unless --no-validate) and store it under integration "
        "PROVIDER with auth id crd_<ULID>; print the result JSON. status is 'validated' "
        "(probe answered 2xx) or 'unverified' (no probe, network failure, timeout or "
        "another status: see reason). A 401/403 stores nothing (exit 6). Prefer "
        "--field-env: a --field value is visible to other users in the process list.",
    )
    sub.add_argument("provider", metavar="PROVIDER", help="a provider name (`providers list`)")
    sub.add_argument(
        "--field",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="a credential field (repeatable), e.g. api_key=...",
    )
    sub.add_argument(
        "--field-env",
        metavar="NAME=VARIABLE",
        action="append",
        default=[],
        help="a credential field read from an environment variable (repeatable)",
    )
    sub.add_argument("--label", metavar="LABEL", help="the record's label")
    sub.add_argument(
        "--no-validate",
        dest="validate",
        action="store_false",
        help="do not probe the provider (status 'unverified')",
    )
    sub.add_argument(
        "--base-url", metavar="URL", help="the provider's API base URL (default: the catalog's)"
    )
    sub.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_timeout,
        default=5.0,
        help="the probe's timeout (default: 5)",
    )

    providers = commands.add_parser(
        "providers",
        help="list the provider catalog",
        description="The provider catalog: where each provider wants its credentials.",
        epilog=EXIT_CODES_HELP,
        formatter_class=formatter,
    )
    providers_commands = providers.add_subparsers(
        dest="providers_command", metavar="ACTION", required=True
    )
    command(providers_commands, "list", "print every provider (JSON)", _providers_list)
    sub = command(
        providers_commands, "show", "print a provider's catalog entry (JSON)", _providers_show
    )
    sub.add_argument("provider", metavar="PROVIDER", help="a provider name")
    return parser


# -- main ------------------------------------------------------------------------------


def _error_message(error: CredsignError) -> tuple[str, int]:
    if isinstance(error, RecordError):
        detail = "; ".join(f"{path}: {reason}" for path, reason in error.issues)
        return f"invalid record: {detail}", EXIT_USAGE
    if isinstance(error, StoreValidationError):
        return f"invalid record: {error}", EXIT_USAGE
    if isinstance(error, NotFoundError):
        return f"not found: {error}", EXIT_NOT_FOUND
    if isinstance(error, ConflictError):
        return f"conflict: {error}", EXIT_CONFLICT
    if isinstance(error, IntegrityError):
        return f"integrity error: {error} (is it the right master key?)", EXIT_INTEGRITY
    return str(error), EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    args = build_parser().parse_args(argv)
    code: int
    try:
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except CliError as error:
        message, code = str(error), error.code
    except CredsignError as error:
        message, code = _error_message(error)
    except _database_errors() as error:
        message, code = f"store error: {error}", EXIT_ERROR
    except KeyboardInterrupt:
        message, code = "interrupted", 130
    except BrokenPipeError:  # e.g. `credsign auth list crm | head -1`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    sys.stderr.write(f"{PROG}: {message}\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
