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
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import botocore
import botocore.auth
import httpx
import httpx_auth
import requests
import requests_aws4auth
from aws_requests_auth.aws_auth import AWSRequestsAuth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from _timing import Contender, measure, ratio, run_options, version
from credsign import HttpxAuth, parse_record
from credsign.adapters import httpx_fast

# aws-requests-auth calls datetime.utcnow(), deprecated since Python 3.12.
warnings.filterwarnings("ignore", category=DeprecationWarning, module="aws_requests_auth")

CREDSIGN = "credsign"
FLOOR = "floor"
PEER = "peer"
BASELINE = "baseline"
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
FIXED_NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"


def json_body(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes."""
    skeleton = json.dumps({"TableName": "items", "Limit": 50, "Filter": ""}).encode()
    body = json.dumps(
        {"TableName": "items", "Limit": 50, "Filter": "x" * (size - len(skeleton))}
    ).encode()
    assert len(body) == size
    return body


BODY = json_body(1024)
SIGN = "next(auth.sync_auth_flow(request))"
POP_DATE = 'request.headers.pop("x-amz-date", None)'
POST = "client.post(URL, content=BODY, headers=EXTRA_HEADERS)"


def fixed_clock() -> datetime:
    return FIXED_NOW


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
    def httpx_request() -> httpx.Request:
        return client.build_request("POST", URL, content=BODY, headers=EXTRA_HEADERS)

    def prepared() -> requests.PreparedRequest:
        return requests.Request("POST", URL, data=BODY, headers=EXTRA_HEADERS).prepare()

    httpx_headers = dict(httpx_request().headers)  # botocore gets the same headers as httpx
    botocore_signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), SERVICE, REGION)
    built = [AWSRequest()]  # the latest AWSRequest of the row that builds one per iteration
    return [
        signing(
            "credsign HttpxAuth (fixed clock)",
            CREDSIGN,
            SIGN,
            httpx_request(),
            auth=credsign_auth(fixed_clock),
        ),
        signing(
            "credsign HttpxAuth (system clock)",
            CREDSIGN,
            SIGN,
            httpx_request(),
            auth=credsign_auth(),
        ),
        signing(
            "hand-written minimal SigV4 (fixed clock)",
            FLOOR,
            "sign(request)",
            httpx_request(),
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
            prepared(),
            auth=requests_aws4auth.AWS4Auth(ACCESS_KEY, SECRET_KEY, REGION, SERVICE),
        ),
        signing(
            "httpx_auth.AWS4Auth",
            PEER,
            SIGN,
            httpx_request(),
            auth=httpx_auth.AWS4Auth(
                access_id=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION, service=SERVICE
            ),
        ),
        signing(
            "aws_requests_auth AWSRequestsAuth",
            PEER,
            "auth(request)",
            prepared(),
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
            prepared(),
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
    request = client.build_request("POST", URL, content=BODY, headers=EXTRA_HEADERS)
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


def us(ns: float) -> str:
    return f"{ns / 1000:8.2f}"


def report_signing(group: list[Contender], names: dict[str, list[str]]) -> None:
    mine = group[0]
    floor = next(item for item in group if item.role == FLOOR)
    width = max(len(item.label) for item in group)
    print(
        f"\nSigV4 header signing: POST {URL}\n"
        f"  {len(BODY)}-byte JSON body, extra headers {', '.join(EXTRA_HEADERS)}; "
        f"service {SERVICE}, region {REGION}"
    )
    print(
        f"  {'contender':<{width}}  {'role':<8}  {'min µs':>8}  {'med µs':>8}"
        f"  {'x credsign':>15}  {'x floor':>15}  signed"
    )
    for item in group:
        if item.role == BASELINE:
            vs_mine = vs_floor = "-"
        else:
            vs_mine = f"{ratio(item.best, mine.best)} ({ratio(item.median, mine.median)})"
            vs_floor = f"{ratio(item.best, floor.best)} ({ratio(item.median, floor.median)})"
        signed = len(names.get(item.label, []))
        print(
            f"  {item.label:<{width}}  {item.role:<8}  {us(item.best)}  {us(item.median)}"
            f"  {vs_mine:>15}  {vs_floor:>15}  {signed or '-':>6}"
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
            f"  {ratio(item.best, bare.best)} ({ratio(item.median, bare.median)})"
            f"  {added:>12}  {overhead:>15}"
        )


def percent(value: float, reference: float) -> str:
    return f"{(value - reference) / reference:+.0%}"


def summary(signing: list[Contender], end_to_end: list[Contender]) -> None:
    fixed, system = signing[0], signing[1]
    floor = next(item for item in signing if item.role == FLOOR)
    boto = next(item for item in signing if item.label.startswith("botocore SigV4Auth"))

    speedup = boto.best / fixed.best
    met = "met" if speedup >= 6 else "NOT met"
    print(
        f"credsign vs botocore: {speedup:.1f}x faster (target >= 6x)  [{met}; "
        f"medians {boto.median / fixed.median:.1f}x; with the system clock "
        f"{boto.best / system.best:.1f}x]"
    )
    slowdown = fixed.best / floor.best
    met = "met" if slowdown <= 1.5 else "NOT met"
    print(
        f"credsign vs hand-written minimal: {slowdown:.2f}x (target <= 1.5x)  [{met}; "
        f"medians {fixed.median / floor.median:.2f}x; with the system clock "
        f"{system.best / floor.best:.2f}x]"
    )
    bare = end_to_end[0]
    mine = next(item for item in end_to_end if item.role == CREDSIGN)
    theirs = next(item for item in end_to_end if item.label.startswith("httpx_auth"))
    basic = next(item for item in end_to_end if item.label.startswith("httpx.BasicAuth"))
    b_theirs, b_mine, b_basic = (percent(x.best, bare.best) for x in (theirs, mine, basic))
    m_theirs, m_mine, m_basic = (percent(x.median, bare.median) for x in (theirs, mine, basic))
    met = "met" if mine.best - bare.best < 0.10 * bare.best else "NOT met"
    print(
        f"end-to-end auth overhead in httpx.Client: httpx-auth adds {b_theirs}, "
        f"credsign adds {b_mine} (aim < +10%)  [{met}; httpx.BasicAuth adds {b_basic}; "
        f"medians {m_theirs}, {m_mine}, {m_basic}]"
    )


def main(argv: list[str] | None = None) -> None:
    rounds, sample_ms, quick = run_options(__doc__.split("\n\n")[0], 20, argv)

    print(
        f"credsign {version('credsign')}, httpx {httpx.__version__}, "
        f"botocore {botocore.__version__}, requests {requests.__version__}, "
        f"requests-aws4auth {version('requests-aws4auth')}, "
        f"httpx-auth {version('httpx-auth')}, aws-requests-auth {version('aws-requests-auth')}"
    )
    print(
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{os.cpu_count()} CPUs; credsign fast paths: headers={httpx_fast.FAST_HEADERS} "
        f"url={httpx_fast.FAST_URL}"
    )
    print(
        f"{rounds} interleaved rounds of ~{sample_ms:g} ms per contender"
        + (" (--quick: numbers are rough)" if quick else "")
        + "; µs per request: min (and median) over rounds; ratios are min/min (median/median)"
    )
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
    print(f"(measured in {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
