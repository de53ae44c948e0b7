"""Per-request RFC 9421 HMAC_SHA256 signing: credsign against http-message-signatures and a
hand-written minimal signer, in one run.

The request: ``POST`` to an https URL with a query string, a 1024-byte JSON body and
Content-Type ``application/json``. Every contender covers the same components, credsign's
default for such a request (``@method @authority @path @query content-type
content-digest``), adds ``Content-Digest`` (sha-256), ``Signature-Input`` and ``Signature``
with label ``sig1``, keyid ``bench-client`` and ``alg="hmac-sha256"``. Each contender re-signs
its own copy of that request every iteration:

- credsign: ``next(auth.sync_auth_flow(request))`` (what ``httpx.Client`` does) on an
  ``httpx.Request`` from ``httpx.Client.build_request``;
- http-message-signatures: ``HTTPMessageSigner(signature_algorithm=HMAC_SHA256,
  key_resolver=MappingKeyResolver(...)).sign(request, key_id=..., label="sig1",
  covered_component_ids=(...), body=BODY)`` on a ``requests.PreparedRequest`` (its
  documented message type). It refuses to sign over a Content-Digest it did not make
  unless told to reuse (and re-check) it, so each iteration first pops the previous one; a
  "reset only" row bounds that cost. It has no integration for httpx 0.x (only for HTTPX2);
  an extra row hands it the ``httpx.Request`` itself, through its generic message interface;
- the floor: a hand-written RFC 9421 HMAC for exactly this request (method, authority,
  path, query and signature parameters are precomputed strings; per request it reads
  Content-Type, hashes the body, formats the base, computes one HMAC and sets three headers
  with httpx's public API).

credsign, the floor and the main http-message-signatures row sign with a fixed clock
(``FIXED_NOW``: credsign through ``clock=``, http-message-signatures through
``created=``); credsign and http-message-signatures are also timed with the system clock.
Before timing, every contender signs once: all fixed-clock signatures must be byte for byte
the same, and each one must pass both credsign's ``Rfc9421Verifier`` and
http-message-signatures' ``HTTPMessageVerifier`` (both recompute the Content-Digest).

Samples are taken round-robin (the starting contender rotates each round); the minimum and
median per request are reported.

    .venv/bin/python benchmarks/bench_hmac.py           # full run, about 20 s
    .venv/bin/python benchmarks/bench_hmac.py --quick   # smoke run, a few seconds
"""

from __future__ import annotations

import base64
import hashlib
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)
from requests.structures import CaseInsensitiveDict

from _timing import (
    BASELINE,
    CREDSIGN,
    FIXED_NOW,
    FLOOR,
    PEER,
    SIGN,
    Contender,
    Post,
    fixed_clock,
    json_body,
    measure,
    print_elapsed,
    print_signing_header,
    print_signing_summary,
    print_signing_table,
    run_options,
)
from credsign import HttpxAuth, parse_record
from credsign.errors import SignatureError
from credsign.verify.rfc9421 import Rfc9421Verifier

KEYID = "bench-client"
SECRET = "bench-secret-0123456789abcdef"
KEY = SECRET.encode()
LABEL = "sig1"
HOST = "api.example.com"
PATH = "/v1/items"
QUERY = "limit=50&sort=name"
URL = f"https://{HOST}{PATH}?{QUERY}"
CONTENT_TYPE = "application/json"
EXTRA_HEADERS = {"Content-Type": CONTENT_TYPE}
COMPONENTS = ("@method", "@authority", "@path", "@query", "content-type", "content-digest")
SIGNED_HEADERS = ("content-digest", "signature-input", "signature")

POP_DIGEST = 'request.headers.pop("Content-Digest", None)'
HMS_SIGN = (
    "signer.sign(request, key_id=KEYID, label=LABEL, covered_component_ids=COMPONENTS,"
    " body=BODY{created})"
)
BODY = json_body(1024, "filter", name="items", limit=50)
REQUEST = Post(URL, BODY, EXTRA_HEADERS)


class MinimalHmac:
    """RFC 9421 ``hmac-sha256`` written for exactly this request: the floor for any signer.

    The covered derived components and the signature parameters are constant strings
    (``Signature-Input`` is cached per clock reading), and the HMAC's two key pads are
    hashed once (RFC 2104; per request two SHA-256 states are copied, faster than
    ``hmac.digest``). Per request it reads Content-Type, hashes the body, formats the
    signature base, computes the HMAC and sets Content-Digest, Signature-Input and
    Signature with httpx's public API.
    """

    DERIVED = (
        f'"@method": POST\n"@authority": {HOST}\n"@path": {PATH}\n"@query": ?{QUERY}\n'
        '"content-type": '
    )
    IDENTIFIERS = " ".join(f'"{name}"' for name in COMPONENTS)

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.now: datetime | None = None
        self.params = self.signature_input = ""
        block = KEY.ljust(64, b"\0")  # a key of at most SHA-256's block size
        self.inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in block))
        self.outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in block))

    def __call__(self, request: httpx.Request) -> None:
        now = self.clock()
        if now != self.now:
            self.now = now
            self.params = (
                f'({self.IDENTIFIERS});created={int(now.timestamp())};keyid="{KEYID}"'
                ';alg="hmac-sha256"'
            )
            self.signature_input = f"{LABEL}={self.params}"
        headers = request.headers
        digest = f"sha-256=:{base64.b64encode(hashlib.sha256(request.content).digest()).decode()}:"
        base = (
            f"{self.DERIVED}{headers['content-type']}\n"
            f'"content-digest": {digest}\n"@signature-params": {self.params}'
        )
        inner = self.inner.copy()
        inner.update(base.encode())
        outer = self.outer.copy()
        outer.update(inner.digest())
        proof = base64.b64encode(outer.digest()).decode()
        headers["Content-Digest"] = digest
        headers["Signature-Input"] = self.signature_input
        headers["Signature"] = f"{LABEL}=:{proof}:"


@dataclass
class Signing:
    """A contender, the request it signs, and how to read that request back once signed."""

    contender: Contender
    fixed_clock: bool
    header_lines: Callable[[], Iterable[tuple[str, str]]]  # (name, value) as sent


def credsign_auth(clock: Callable[[], datetime] | None = None) -> HttpxAuth:
    record = {"authType": "HMAC_SHA256", "clientId": KEYID, "clientSecret": SECRET}
    return HttpxAuth(parse_record(record), clock=clock)


def key_resolver() -> MappingKeyResolver:
    return MappingKeyResolver(public_keys={KEYID: KEY}, private_keys={KEYID: KEY})


def signing_group(client: httpx.Client) -> list[Signing]:
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.HMAC_SHA256, key_resolver=key_resolver()
    )
    hms_names = {
        "signer": signer,
        "KEYID": KEYID,
        "LABEL": LABEL,
        "COMPONENTS": COMPONENTS,
        "BODY": BODY,
        "FIXED_NOW": FIXED_NOW,
    }
    hms_fixed = POP_DIGEST + "\n" + HMS_SIGN.format(created=", created=FIXED_NOW")
    hms_system = POP_DIGEST + "\n" + HMS_SIGN.format(created="")

    def httpx_signing(label: str, role: str, stmt: str, fixed: bool, **names: Any) -> Signing:
        request = REQUEST.httpx(client)
        contender = Contender(label, role, stmt, {"request": request, **names})
        return Signing(contender, fixed, request.headers.multi_items)

    def requests_signing(label: str, role: str, stmt: str, fixed: bool) -> Signing:
        request = REQUEST.prepared()
        contender = Contender(label, role, stmt, {"request": request, **hms_names})
        return Signing(contender, fixed, lambda: list(request.headers.items()))

    return [
        httpx_signing(
            "credsign HttpxAuth (fixed clock)",
            CREDSIGN,
            SIGN,
            True,
            auth=credsign_auth(fixed_clock),
        ),
        httpx_signing(
            "credsign HttpxAuth (system clock)", CREDSIGN, SIGN, False, auth=credsign_auth()
        ),
        httpx_signing(
            "hand-written minimal RFC 9421 HMAC (fixed clock)",
            FLOOR,
            "sign(request)",
            True,
            sign=MinimalHmac(fixed_clock),
        ),
        requests_signing(
            "http-message-signatures sign(PreparedRequest) (fixed created)", PEER, hms_fixed, True
        ),
        requests_signing(
            "http-message-signatures sign(PreparedRequest) (system clock)",
            PEER,
            hms_system,
            False,
        ),
        httpx_signing(
            "http-message-signatures sign(httpx.Request) (fixed created)",
            PEER,
            hms_fixed,
            True,
            **hms_names,
        ),
        Signing(
            Contender(
                "(reset only: Content-Digest set + pop)",
                BASELINE,
                'request.headers["Content-Digest"] = "sha-256=:x:"\n' + POP_DIGEST,
                {"request": REQUEST.prepared()},
            ),
            False,
            list,
        ),
    ]


@dataclass
class SentRequest:
    """A signed request as http-message-signatures' verifier reads one."""

    method: str
    url: str
    headers: CaseInsensitiveDict[str]


def verify_both(lines: list[tuple[str, str]], fixed: bool) -> list[str]:
    """Check one signed request with both verifiers; the failures, as text."""
    failures = []
    now = FIXED_NOW if fixed else None
    try:
        ours = Rfc9421Verifier(key_for={KEYID: KEY}.get).verify("POST", URL, lines, BODY, now=now)
        if ours.components != tuple(f'"{name}"' for name in COMPONENTS):
            failures.append(f"credsign Rfc9421Verifier: covers {ours.components}")
    except SignatureError as error:
        failures.append(f"credsign Rfc9421Verifier: {error}")
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.HMAC_SHA256, key_resolver=key_resolver()
    )
    merged: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    for name, value in lines:
        merged[name] = f"{merged[name]}, {value}" if name in merged else value
    try:
        results = verifier.verify(
            SentRequest("POST", URL, merged),
            max_age=None,  # the fixed clock is in the past
            require_components=COMPONENTS,
            body=BODY,
        )
        if [result.body for result in results] != [BODY]:
            failures.append("http-message-signatures: the body was not verified")
    except InvalidSignature as error:
        failures.append(f"http-message-signatures HTTPMessageVerifier: {error}")
    return failures


def check(group: list[Signing]) -> None:
    """Sign once with each contender; check the signatures agree and both verifiers accept them."""
    reference: dict[str, str] | None = None
    differ, rejected = [], []
    for item in group:
        item.contender.run(1)
        if item.contender.role == BASELINE:
            continue
        lines = [(name.lower(), value) for name, value in item.header_lines()]
        for failure in verify_both(lines, item.fixed_clock):
            rejected.append(f"{item.contender.label}: {failure}")
        if item.fixed_clock:
            signed = {name: value for name, value in lines if name in SIGNED_HEADERS}
            if reference is None:
                reference = signed
                print("check: credsign's headers (fixed clock):")
                for name, value in signed.items():
                    print(f"  {name}: {value}")
            elif signed != reference:
                differ.append(f"{item.contender.label}: {signed}")
    print(
        "check: every fixed-clock contender's Content-Digest, Signature-Input and Signature"
        " == credsign's: " + ("OK" if not differ else "MISMATCH")
    )
    print(
        "check: every contender's signature accepted by credsign's Rfc9421Verifier and by"
        " http-message-signatures' HTTPMessageVerifier (body digest checked): "
        + ("OK" if not rejected else "REJECTED")
    )
    for problem in differ + rejected:
        print(f"  {problem}")
    if differ or rejected:
        sys.exit("signatures disagree or fail to verify: timings would compare different work")


def report(group: list[Contender]) -> None:
    print(
        f"\nRFC 9421 hmac-sha256 signing: POST {URL}\n"
        f"  {len(BODY)}-byte JSON body, Content-Type {CONTENT_TYPE}; "
        f"covered: {' '.join(COMPONENTS)}"
    )
    print_signing_table(group)


def summary(group: list[Contender]) -> None:
    peer = next(item for item in group if item.label.startswith("http-message-signatures"))
    peer_system = next(item for item in group if item.role == PEER and "system clock" in item.label)
    print_signing_summary(group, "http-message-signatures", peer, 40, 2, peer_system)


def main(argv: list[str] | None = None) -> None:
    rounds, sample_ms, quick = run_options(__doc__, 20, argv)

    print_signing_header(
        ("credsign", "httpx", "requests", "http-message-signatures"), rounds, sample_ms, quick
    )
    print(
        f"'fixed' rows sign at {FIXED_NOW.isoformat()} (credsign: clock=, the floor: its clock,"
        " http-message-signatures: created=); 'system clock' rows read the time per request"
    )

    started = time.perf_counter()
    with httpx.Client() as client:
        group = signing_group(client)
        check(group)
    contenders = [item.contender for item in group]
    measure([contenders], rounds, sample_ms * 1e6)
    report(contenders)
    print()
    summary(contenders)
    print_elapsed(started)


if __name__ == "__main__":
    main()
