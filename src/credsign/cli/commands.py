"""The ``auth``, ``keys``, ``credentials`` and ``providers`` commands."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from credsign.cli.common import (
    EXIT_CREDENTIAL_REJECTED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    CliError,
    open_store,
    print_json,
    read_input,
)
from credsign.errors import StoreValidationError
from credsign.timestamps import instant

if TYPE_CHECKING:
    from credsign.store import MasterKey


def auth_create(args: argparse.Namespace) -> int:
    body = read_input(args.json, "JSON")
    with open_store(args) as store:
        print_json(store.create(args.integration, body))
    return EXIT_OK


def auth_get(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        print_json(store.get(args.integration, args.auth_id))
    return EXIT_OK


def auth_list(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        print_json(
            store.integrations() if args.integration is None else store.list(args.integration)
        )
    return EXIT_OK


def auth_export(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        print_json(store.export(args.integration, args.auth_id, reveal=args.reveal))
    if not args.reveal:
        sys.stderr.write(
            f"{PROG}: secrets are masked: this export is for reading; "
            "export with --reveal for a backup that imports\n"
        )
    return EXIT_OK


def auth_import(args: argparse.Namespace) -> int:
    body = read_input(args.json, "JSON")
    with open_store(args) as store:
        print_json(store.import_record(body, replace=args.replace))
    return EXIT_OK


def auth_update(args: argparse.Namespace) -> int:
    expected = None
    if args.if_updated_at is not None:
        try:
            expected = instant(args.if_updated_at, "--if-updated-at")
        except StoreValidationError as error:
            raise CliError(str(error), EXIT_USAGE) from None
    patch = read_input(args.json, "JSON")
    with open_store(args) as store:
        view = store.update(args.integration, args.auth_id, patch, if_updated_at=expected)
        print_json(view)
    return EXIT_OK


def auth_delete(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        store.delete(args.integration, args.auth_id)
    return EXIT_OK


def keys_rotate(args: argparse.Namespace) -> int:
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
    with open_store(args, previous_keys=() if new_key is None else (new_key,)) as store:
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


def keys_drop_retired(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        dropped = store.drop_retired_keys()
        key_id = store.keyring.current.key_id
    noun = "key" if len(dropped) == 1 else "keys"
    shown = f" ({', '.join(dropped)})" if dropped else ""
    sys.stdout.write(f"dropped {len(dropped)} retired master {noun}{shown}; current: {key_id}\n")
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


def credentials_store(args: argparse.Namespace) -> int:
    from credsign.providers import CredentialValidationError, get_provider, store_credentials

    fields = _credential_fields(args)
    try:
        provider = get_provider(args.provider)
    except StoreValidationError as error:
        raise CliError(str(error), EXIT_USAGE) from None
    with open_store(args) as store:
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
    print_json(result)
    return EXIT_OK


def providers_list(args: argparse.Namespace) -> int:
    from credsign.providers import list_providers

    keep = ("name", "title", "authType", "requiredFields", "baseUrl", "docs")
    print_json(
        [
            {key: value for key, value in provider.to_dict().items() if key in keep}
            for provider in list_providers()
        ]
    )
    return EXIT_OK


def providers_show(args: argparse.Namespace) -> int:
    from credsign.providers import get_provider

    try:
        provider = get_provider(args.provider)
    except StoreValidationError as error:
        raise CliError(str(error), EXIT_NOT_FOUND) from None
    print_json(provider.to_dict())
    return EXIT_OK


def timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid timeout {text!r}") from None
    if not 0 < value <= 300:
        raise argparse.ArgumentTypeError("the timeout is between 0 and 300 seconds")
    return value
