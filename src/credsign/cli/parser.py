"""The ``credsign`` argument parser: every command, its options and its help."""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable

from credsign.cli.commands import (
    auth_create,
    auth_delete,
    auth_export,
    auth_get,
    auth_import,
    auth_list,
    auth_update,
    credentials_store,
    keys_drop_retired,
    keys_rotate,
    providers_list,
    providers_show,
    timeout,
)
from credsign.cli.common import PROG
from credsign.cli.sign import method, sign

EXIT_CODES_HELP = """\
exit status:
  0  success
  1  any other error (e.g. a URL outside the record's baseUrl, store unreachable)
  2  usage error or invalid input (bad options, invalid record JSON, refused update,
     a --if-updated-at that is not an ISO 8601 time with an offset, a masked import)
  3  no such credential record
  4  conflict (the record changed since --if-updated-at, an imported authId exists,
     a retired key still seals a record)
  5  integrity error (wrong master key, or a tampered row)
  6  the provider refused the credentials (credentials store: probe answered 401/403)

environment:
  CREDSIGN_STORE       the store, as --store takes it: a SQLite path, sqlite:///PATH or
                       postgresql://... (default: $XDG_DATA_HOME/credsign/credentials.db)
  PGPASSWORD           PostgreSQL's password, so it need not be in the URL (or ~/.pgpass)
  CREDSIGN_MASTER_KEY  base64 of the 32-byte master key; when unset, SQLite stores use
                       a key file beside the database (<db>.key, created with mode 0600)
"""


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

    def topic(
        name: str, summary: str, description: str
    ) -> argparse._SubParsersAction[argparse.ArgumentParser]:
        """A command group (``auth``, ``keys``...) and the subparsers of its actions."""
        group = commands.add_parser(
            name,
            help=summary,
            description=textwrap.fill(description, 79),
            epilog=EXIT_CODES_HELP,
            formatter_class=formatter,
        )
        return group.add_subparsers(dest=f"{name}_command", metavar="ACTION", required=True)

    def integration(sub: argparse.ArgumentParser, auth_id: bool = True) -> None:
        sub.add_argument("integration", metavar="INTEGRATION", help="the integration id")
        if auth_id:
            sub.add_argument("auth_id", metavar="AUTH_ID", help="the record id (auth_...)")

    auth_commands = topic(
        "auth",
        "create, read, update and delete credential records",
        "Create, read, update and delete credential records. "
        "Records are printed as views: never with a secret.",
    )
    json_help = "the record JSON: a file, or - for stdin"

    sub = command(auth_commands, "create", "store a new record; print its view", auth_create)
    integration(sub, auth_id=False)
    sub.add_argument("--json", metavar="FILE|-", required=True, help=json_help)

    sub = command(auth_commands, "get", "print a record's view", auth_get)
    integration(sub)

    sub = command(
        auth_commands,
        "list",
        "print the views of an integration's records, or the integrations",
        auth_list,
        "Print the views of INTEGRATION's records (JSON); without INTEGRATION, the ids "
        "of the integrations that have records (a JSON array).",
    )
    sub.add_argument("integration", metavar="INTEGRATION", nargs="?", help="the integration id")

    sub = command(
        auth_commands,
        "update",
        "change the fields given; print the new view",
        auth_update,
        "Change the fields present in the JSON patch; the others stay. authType is "
        "permanent; a headers list replaces all static headers; apiKey merges.",
    )
    integration(sub)
    sub.add_argument("--json", metavar="FILE|-", required=True, help="the patch JSON: " + json_help)
    sub.add_argument(
        "--if-updated-at",
        metavar="TS",
        help="only if the record's updatedAt is still the instant TS (ISO 8601 with an "
        "offset: Z and +00:00 are the same; else exit 4)",
    )

    sub = command(auth_commands, "delete", "delete a record", auth_delete)
    integration(sub)

    sub = command(
        auth_commands,
        "export",
        "print a whole record with its ids and timestamps (JSON)",
        auth_export,
        "Print the record with authId, integrationId, createdAt and updatedAt. Secrets "
        "are masked unless --reveal; only a revealed export can be imported (a backup, "
        "or a move to another store): keep it as safe as the master key.",
    )
    integration(sub)
    sub.add_argument(
        "--reveal", action="store_true", help="include the secrets (careful: for backups)"
    )

    sub = command(
        auth_commands,
        "import",
        "store an exported record as it was; print its view",
        auth_import,
        "Store a record exported with --reveal, keeping its authId, integrationId, "
        "createdAt and updatedAt; its secrets are sealed with this store's key. An "
        "existing authId is a conflict (exit 4) unless --replace, which overwrites the "
        "record (same authType) and moves its updatedAt forward. A masked export is "
        "refused (exit 2).",
    )
    sub.add_argument("--json", metavar="FILE|-", required=True, help="the export: " + json_help)
    sub.add_argument(
        "--replace", action="store_true", help="overwrite a record with the same authId"
    )

    keys_commands = topic(
        "keys",
        "manage the master key",
        "Manage the master key that seals secrets at rest.",
    )
    sub = command(
        keys_commands,
        "rotate",
        "re-encrypt every record under a new master key",
        keys_rotate,
        "Re-encrypt every record under a new master key; print how many. With a key "
        "file, a new key is generated and becomes its first line; the key file keeps up "
        "to 3 retired keys after it, for writes that raced the rotation (keys "
        "drop-retired removes them). With $CREDSIGN_MASTER_KEY set, "
        "the new key must come from the environment variable named by --new-key-env; "
        "afterwards, set CREDSIGN_MASTER_KEY to it. Safe to run again if interrupted.",
    )
    sub.add_argument(
        "--new-key-env",
        metavar="NAME",
        help="the environment variable holding the new key (base64 of 32 bytes)",
    )
    command(
        keys_commands,
        "drop-retired",
        "forget the master keys a rotation retired",
        keys_drop_retired,
        "Remove the retired master keys from the key file and from the store's list of "
        "accepted keys, so they no longer open it; print their ids. Refused (exit 4) "
        "while any record is still sealed with one (run keys rotate again first) or a "
        "rotation is unfinished. Safe while other processes use the store.",
    )

    sub = command(
        commands,
        "sign",
        "print a request signed with a stored record, without sending it",
        sign,
        "Build the request, sign it with the stored record and print it (request line, "
        "headers, blank line, body) without sending it. Credentials are masked as **** "
        "unless --reveal. A URL outside the record's baseUrl is refused (exit 1).",
    )
    integration(sub)
    sub.add_argument("method", metavar="METHOD", type=method, help="e.g. GET, POST")
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
    sub.add_argument(
        "--explain",
        action="store_true",
        help="print what the signature covers instead (AWS4: canonical request and string "
        "to sign; HMAC_SHA256: signature base), to debug a signature mismatch",
    )

    credentials_commands = topic(
        "credentials",
        "store a provider's credentials (see `providers`)",
        "Store credentials for a known API provider: each field goes where the "
        "provider documents it, and the provider is probed once to check them.",
    )
    sub = command(
        credentials_commands,
        "store",
        "validate and store a provider's credentials; print the result",
        credentials_store,
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
        type=timeout,
        default=5.0,
        help="the probe's timeout (default: 5)",
    )

    providers_commands = topic(
        "providers",
        "list the provider catalog",
        "The provider catalog: where each provider wants its credentials.",
    )
    command(providers_commands, "list", "print every provider (JSON)", providers_list)
    sub = command(
        providers_commands, "show", "print a provider's catalog entry (JSON)", providers_show
    )
    sub.add_argument("provider", metavar="PROVIDER", help="a provider name")
    return parser
