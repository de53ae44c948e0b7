"""Per-request SigV4 header signing: credsign against botocore, requests-aws4auth,
httpx-auth, aws-requests-auth and a hand-written minimal signer, in one run.

The request: ``POST`` to an execute-api URL with a query string, a 1024-byte JSON
body and two extra headers (X-Amz-Target, Content-Type), region us-east-1, with the
signature in the Authorization header. Each contender re-signs its own copy of that
request every iteration, doing what its library does once per request:

- credsign and httpx-auth: ``next(auth.sync_auth_flow(request))`` (what
  ``httpx.Client`` does) on an ``httpx.Request`` from ``httpx.Client.build_request``;
- botocore: ``SigV4Auth.add_auth(request)`` on one reused ``AWSRequest`` (botocore
  removes its own previous headers itself). A second row builds a new ``AWSRequest``
  in every iteration too;
- requests-aws4auth and aws-requests-auth: ``auth(prepared)`` on a
  ``requests.PreparedRequest``. requests-aws4auth signs with an x-amz-date it finds on
  the request, so its row pops that header first; a "reset only" row bounds that cost;
- the floor: a hand-written SigV4 for exactly this request (constant path, sorted
  query and header names; cached signing key) on an ``httpx.Request``, public httpx API.

credsign and the floor are timed with a fixed clock (``fixed_clock``, returning the
constant aware UTC datetime ``FIXED_NOW``); credsign also with its default system clock.
The libraries read the system clock.
Before timing, every contender signs once and botocore (its clock frozen at the
contender's X-Amz-Date) recomputes its Authorization from the headers it signed;
credsign's must also equal botocore's for the whole request.

Then end to end: ``client.post(...)`` in an ``httpx.Client`` on an
``httpx.MockTransport``, without auth and with each auth (system clocks).

Samples are taken round-robin within each group (the starting contender rotates each
round); the minimum and median per request are reported.

    .venv/bin/python benchmarks/bench_sigv4.py           # full run, about 30 s
    .venv/bin/python benchmarks/bench_sigv4.py --quick   # smoke run, a few seconds
"""

from __future__ import annotations

import hashlib
import hmac
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import botocore
import botocore.auth
import httpx
import httpx_auth
import requests_aws4auth
from aws_requests_auth.aws_auth import AWSRequestsAuth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

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
    met,
    print_elapsed,
    print_signing_header,
    print_signing_summary,
    print_signing_table,
    ratios,
    run_options,
    us,
)
from credsign import HttpxAuth, parse_record

# aws-requests-auth calls datetime.utcnow(), deprecated since Python 3.12.
warnings.filterwarnings("ignore", category=DeprecationWarning, module="aws_requests_auth")

NO_AUTH = "no auth"

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
SERVICE = "execute-api"
HOST = f"a1b2c3d4e5.{SERVICE}.{REGION}.amazonaws.com"
PATH = "/prod/items"
QUERY = "Action=x&Version=2011-06-15&limit=50"  # already in canonical (sorted) order
URL = f"https://{HOST}{PATH}?{QUERY}"
EXTRA_HEADERS = {"X-Amz-Target": "Items_20240101.Query", "Content-Type": "application/json"}
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
BODY = json_body(1024, "Filter", TableName="items", Limit=50)
REQUEST = Post(URL, BODY, EXTRA_HEADERS)
POP_DATE = 'request.headers.pop("x-amz-date", None)'
POST = "client.post(URL, content=BODY, headers=EXTRA_HEADERS)"


class MinimalSigV4:
    """SigV4 written for exactly this request: the floor for any general signer.

    Path, sorted query and the names of the signed headers are constants; the date
    strings and signing key are cached per clock reading. Per request it reads the
    header values (``Headers.raw``), hashes the body, formats the canonical request,
    hashes it, computes one HMAC and sets two headers with httpx's public API.
    """

    NAMES = (
        "accept",
        "accept-encoding",
        "content-length",
        "content-type",
        "host",
        "x-amz-date",
        "x-amz-target",
    )
    SIGNED = ";".join(NAMES)
    CANONICAL = (
        f"POST\n{PATH}\n{QUERY}\n".encode()
        + b"".join(name.encode() + b":%s\n" for name in NAMES)
        + f"\n{SIGNED}\n".encode()
        + b"%s"
    )

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.now: datetime | None = None
        self.amz_date = self.prefix = self.credential = ""
        self.key = b""

    def __call__(self, request: httpx.Request) -> None:
        now = self.clock()
        if now != self.now:
            self.now = now
            self.amz_date = now.strftime(AMZ_DATE_FORMAT)
            scope = f"{self.amz_date[:8]}/{REGION}/{SERVICE}/aws4_request"
            self.prefix = f"AWS4-HMAC-SHA256\n{self.amz_date}\n{scope}\n"
            key = ("AWS4" + SECRET_KEY).encode()
            for part in scope.split("/"):
                key = hmac.digest(key, part.encode(), "sha256")
            self.key = key
            self.credential = (
                f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{scope}, SignedHeaders={self.SIGNED}"
            )
        amz_date = self.amz_date
        values = {name.lower(): value for name, value in request.headers.raw}
        canonical = self.CANONICAL % (
            values[b"accept"],
            values[b"accept-encoding"],
            values[b"content-length"],
            values[b"content-type"],
            values[b"host"],
            amz_date.encode(),
            values[b"x-amz-target"],
            hashlib.sha256(request.content).hexdigest().encode(),
        )
        to_sign = self.prefix + hashlib.sha256(canonical).hexdigest()
        proof = hmac.digest(self.key, to_sign.encode(), "sha256").hex()
        headers = request.headers
        headers["X-Amz-Date"] = amz_date
        headers["Authorization"] = f"{self.credential}, Signature={proof}"


@dataclass
class Signing:
    """A contender of the signing group, with the request it signs."""

    contender: Contender
    headers: Callable[[], Mapping[str, str]]  # the signed request's headers (case-insensitive)


def credsign_auth(clock: Callable[[], datetime] | None = None) -> HttpxAuth:
    record = {
        "authType": "AWS4",
        "accessKey": ACCESS_KEY,
        "secretKey": SECRET_KEY,
        "region": REGION,
        "service": SERVICE,
    }
    return HttpxAuth(parse_record(record), clock=clock)


def signing(label: str, role: str, stmt: str, request: Any, **names: Any) -> Signing:
    contender = Contender(label, role, stmt, {"request": request, **names})
    return Signing(contender, lambda: request.headers)


def signing_group(client: httpx.Client) -> list[Signing]:
    httpx_headers = dict(REQUEST.httpx(client).headers)  # botocore gets the same headers as httpx
    botocore_signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), SERVICE, REGION)
    built = [AWSRequest()]  # the latest AWSRequest of the row that builds one per iteration
    return [
        signing(
            "credsign HttpxAuth (fixed clock)",
            CREDSIGN,
            SIGN,
            REQUEST.httpx(client),
            auth=credsign_auth(fixed_clock),
        ),
        signing(
            "credsign HttpxAuth (system clock)",
            CREDSIGN,
            SIGN,
            REQUEST.httpx(client),
            auth=credsign_auth(),
        ),
        signing(
            "hand-written minimal SigV4 (fixed clock)",
            FLOOR,
            "sign(request)",
            REQUEST.httpx(client),
            sign=MinimalSigV4(fixed_clock),
        ),
        signing(
            "botocore SigV4Auth.add_auth(request)",
            PEER,
            "signer.add_auth(request)",
            AWSRequest("POST", URL, data=BODY, headers=httpx_headers),
            signer=botocore_signer,
        ),
        Signing(
            Contender(
                "botocore, new AWSRequest(...) each time",
                PEER,
                "built[0] = request = AWSRequest('POST', URL, data=BODY, headers=headers)\n"
                "signer.add_auth(request)",
                {
                    "AWSRequest": AWSRequest,
                    "URL": URL,
                    "BODY": BODY,
                    "headers": httpx_headers,
                    "signer": botocore_signer,
                    "built": built,
                },
            ),
            lambda: built[0].headers,
        ),
        signing(
            "requests_aws4auth.AWS4Auth (+ x-amz-date pop)",
            PEER,
            POP_DATE + "\nauth(request)",
            REQUEST.prepared(),
            auth=requests_aws4auth.AWS4Auth(ACCESS_KEY, SECRET_KEY, REGION, SERVICE),
        ),
        signing(
            "httpx_auth.AWS4Auth",
            PEER,
            SIGN,
            REQUEST.httpx(client),
            auth=httpx_auth.AWS4Auth(
                access_id=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION, service=SERVICE
            ),
        ),
        signing(
            "aws_requests_auth AWSRequestsAuth",
            PEER,
            "auth(request)",
            REQUEST.prepared(),
            auth=AWSRequestsAuth(
                aws_access_key=ACCESS_KEY,
                aws_secret_access_key=SECRET_KEY,
                aws_host=HOST,
                aws_region=REGION,
                aws_service=SERVICE,
            ),
        ),
        signing(
            "(reset only: x-amz-date set + pop)",
            BASELINE,
            'request.headers["x-amz-date"] = "20240506T070809Z"\n' + POP_DATE,
            REQUEST.prepared(),
        ),
    ]


def botocore_authorization(headers: Mapping[str, str], when: datetime) -> str:
    """botocore's Authorization for the request with ``headers``, its clock frozen at ``when``.

    ``when`` is UTC, naive or aware. botocore.auth reads the time through
    ``get_current_datetime``; it is swapped for a constant while signing.
    """
    request = AWSRequest("POST", URL, data=BODY, headers=dict(headers))
    original = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda remove_tzinfo=True: when.replace(tzinfo=None)
    try:
        SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), SERVICE, REGION).add_auth(request)
    finally:
        botocore.auth.get_current_datetime = original
    return str(request.headers["Authorization"])


def signed_names(authorization: str) -> list[str]:
    return authorization.split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";")


def check(group: list[Signing], client: httpx.Client) -> dict[str, list[str]]:
    """Sign once with each contender and check every signature with botocore.

    Returns the signed header names of each contender.
    """
    ok = True
    request = REQUEST.httpx(client)
    expected = botocore_authorization(request.headers, FIXED_NOW)
    next(credsign_auth(fixed_clock).sync_auth_flow(request))
    same = request.headers["Authorization"] == expected
    print(
        "check: credsign Authorization == botocore's (same request, same fixed clock): "
        + ("OK" if same else "MISMATCH")
    )
    if not same:
        ok = False
        print(f"  credsign: {request.headers['Authorization']}\n  botocore: {expected}")

    names: dict[str, list[str]] = {}
    bad = []
    for item in group:
        item.contender.run(1)
        if item.contender.role == BASELINE:
            continue
        headers = item.headers()
        authorization = headers["Authorization"]
        when = datetime.strptime(headers["X-Amz-Date"], AMZ_DATE_FORMAT)
        names[item.contender.label] = signed = signed_names(authorization)
        signed_headers = {
            name: headers[name] for name in signed if name != "x-amz-date" and name in headers
        }
        if botocore_authorization(signed_headers, when) != authorization:
            bad.append(item.contender.label)
    print(
        "check: every contender's Authorization == botocore's over the headers it signed: "
        + ("OK" if not bad else "MISMATCH (" + ", ".join(bad) + ")")
    )
    if not ok or bad:
        sys.exit("signatures disagree: timings would compare different work")
    return names


def end_to_end_group() -> tuple[list[Contender], list[httpx.Client]]:
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    auths: list[tuple[str, str, httpx.Auth | None]] = [
        ("httpx.Client, no auth", NO_AUTH, None),
        ("httpx.BasicAuth (for context)", PEER, httpx.BasicAuth("user", "pass")),
        ("credsign HttpxAuth (system clock)", CREDSIGN, credsign_auth()),
        (
            "httpx_auth.AWS4Auth",
            PEER,
            httpx_auth.AWS4Auth(
                access_id=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION, service=SERVICE
            ),
        ),
    ]
    contenders = []
    clients = []
    for label, role, auth in auths:
        client = httpx.Client(transport=transport, auth=auth)
        clients.append(client)
        names = {"client": client, "URL": URL, "BODY": BODY, "EXTRA_HEADERS": EXTRA_HEADERS}
        contenders.append(Contender(label, role, POST, names))
    for contender in contenders:
        response = contender.namespace["client"].post(URL, content=BODY, headers=EXTRA_HEADERS)
        if response.status_code != 200:
            sys.exit(f"{contender.label}: mock transport answered {response.status_code}")
    return contenders, clients


def report_signing(group: list[Contender], names: dict[str, list[str]]) -> None:
    print(
        f"\nSigV4 header signing: POST {URL}\n"
        f"  {len(BODY)}-byte JSON body, extra headers {', '.join(EXTRA_HEADERS)}; "
        f"service {SERVICE}, region {REGION}"
    )
    print_signing_table(
        group,
        extra=("signed", lambda item: f"{len(names.get(item.label, [])) or '-':>6}"),
    )
    print("  signed headers ('signed' column: how many):")
    by_set: dict[str, list[str]] = {}
    for label, signed in names.items():
        by_set.setdefault(";".join(signed), []).append(label.split(" (")[0])
    for signed_set, labels in by_set.items():
        print(f"    {signed_set}: {', '.join(dict.fromkeys(labels))}")


def report_end_to_end(group: list[Contender]) -> None:
    bare = group[0]
    width = max(len(item.label) for item in group)
    print(
        "\nEnd to end: client.post(url, content=body, headers=...) in httpx.Client"
        " on httpx.MockTransport (200, no network)"
    )
    print(
        f"  {'contender':<{width}}  {'role':<8}  {'min µs':>8}  {'med µs':>8}"
        f"  {'x no auth':>15}  {'auth adds µs':>12}  {'overhead':>15}"
    )
    for item in group:
        overhead = "-"
        added = "-"
        if item is not bare:
            added = f"{(item.best - bare.best) / 1000:.2f}"
            overhead = (
                f"{percent(item.best, bare.best):>5} ({percent(item.median, bare.median):>5})"
            )
        print(
            f"  {item.label:<{width}}  {item.role:<8}  {us(item.best)}  {us(item.median)}"
            f"  {ratios(item, bare)}  {added:>12}  {overhead:>15}"
        )


def percent(value: float, reference: float) -> str:
    return f"{(value - reference) / reference:+.0%}"


def summary(signing: list[Contender], end_to_end: list[Contender]) -> None:
    boto = next(item for item in signing if item.label.startswith("botocore SigV4Auth"))
    print_signing_summary(signing, "botocore", boto, 6, 1.5)
    bare = end_to_end[0]
    mine = next(item for item in end_to_end if item.role == CREDSIGN)
    theirs = next(item for item in end_to_end if item.label.startswith("httpx_auth"))
    basic = next(item for item in end_to_end if item.label.startswith("httpx.BasicAuth"))
    b_theirs, b_mine, b_basic = (percent(x.best, bare.best) for x in (theirs, mine, basic))
    m_theirs, m_mine, m_basic = (percent(x.median, bare.median) for x in (theirs, mine, basic))
    verdict = met(mine.best - bare.best < 0.10 * bare.best)
    print(
        f"end-to-end auth overhead in httpx.Client: httpx-auth adds {b_theirs}, "
        f"credsign adds {b_mine} (aim < +10%)  [{verdict}; httpx.BasicAuth adds {b_basic}; "
        f"medians {m_theirs}, {m_mine}, {m_basic}]"
    )


def main(argv: list[str] | None = None) -> None:
    rounds, sample_ms, quick = run_options(__doc__, 20, argv)

    libraries = ("botocore", "requests", "requests-aws4auth", "httpx-auth", "aws-requests-auth")
    print_signing_header(("credsign", "httpx", *libraries), rounds, sample_ms, quick)
    print(
        f"credsign and the floor use a fixed clock ({FIXED_NOW.isoformat()}) unless marked"
        " 'system clock'; the other libraries always read the system clock"
    )

    started = time.perf_counter()
    with httpx.Client() as client:
        group = signing_group(client)
        names = check(group, client)
    signing_contenders = [item.contender for item in group]
    end_to_end, clients = end_to_end_group()
    try:
        measure([signing_contenders, end_to_end], rounds, sample_ms * 1e6)
    finally:
        for client in clients:
            client.close()
    report_signing(signing_contenders, names)
    report_end_to_end(end_to_end)
    print()
    summary(signing_contenders, end_to_end)
    print_elapsed(started)


if __name__ == "__main__":
    main()
