"""Per-request signing cost of static credentials on an ``httpx.Request``.

Compares credsign's ``HttpxAuth`` with setting the header (or query parameter) by
hand, with ``httpx.BasicAuth`` and with httpx-auth, side by side in one run.

Every contender is timed doing what ``httpx.Client`` does once per request:
``next(auth.sync_auth_flow(request))`` (by-hand contenders do the bare assignment).
Contenders of a case share one request built by ``httpx.Client.build_request``;
header sets replace, so every iteration does the same work. In the query case each
iteration first resets ``request.url`` to the original ``httpx.URL``, for every
contender alike, and a "reset only" row shows what that reset costs.

Samples are taken round-robin across a case's contenders (the starting contender
rotates each round) and the minimum and median ns per request are reported.

    .venv/bin/python benchmarks/bench_static.py           # full run, well under a minute
    .venv/bin/python benchmarks/bench_static.py --quick   # smoke run, about a second
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import httpx_auth

from _timing import (
    BASELINE,
    CREDSIGN,
    PEER,
    SIGN,
    Contender,
    exit_unless_agree,
    fast_paths,
    machine,
    measure,
    met,
    print_contenders,
    print_elapsed,
    rounds_note,
    run_options,
    versions,
)
from credsign import HttpxAuth, parse_record

BY_HAND = "by hand"

URL = "https://api.example.com/v1/items?page=2&limit=50"
BASE_URL = "https://api.example.com/v1"
USERNAME = "user"
PASSWORD = "pass"
TOKEN = "tok-4f9c2a7e1b3d5f60718293a4b5c6d7e8"
API_KEY = "key-0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f6"
API_KEY_HEADER = "X-API-KEY"
API_KEY_PARAM = "api_key"

RESET_URL = "request.url = url0"


@dataclass
class Case:
    """Contenders that must all leave the same request behind, timed in one interleaved run."""

    name: str
    what: str
    request: httpx.Request
    contenders: list[Contender]
    prepare: Callable[[httpx.Request], None]  # undo any contender's work before a check
    outcome: Callable[[httpx.Request], object]  # what every contender must produce

    def check(self) -> None:
        """Run each contender once on a cleared request; all must produce the same outcome."""
        results: dict[str, object] = {}
        for contender in self.contenders:
            self.prepare(self.request)
            contender.run(1)
            if contender.role != BASELINE:
                results[contender.label] = self.outcome(self.request)
        exit_unless_agree(results, f"{self.name}: contenders disagree on the signed request")

    def role(self, role: str) -> list[Contender]:
        return [contender for contender in self.contenders if contender.role == role]


def contender(label: str, role: str, stmt: str, request: httpx.Request, **names: Any) -> Contender:
    return Contender(label, role, stmt, {"request": request, **names})


def credsign_auth(record: Mapping[str, Any]) -> HttpxAuth:
    return HttpxAuth(parse_record(record))


def header_case(
    name: str,
    client: httpx.Client,
    header: str,
    value: str,
    credsign_records: list[tuple[str, Mapping[str, Any]]],
    peers: list[tuple[str, httpx.Auth]],
) -> Case:
    request = client.build_request("GET", URL)
    contenders = [
        contender(label, CREDSIGN, SIGN, request, auth=credsign_auth(record))
        for label, record in credsign_records
    ]
    contenders.append(
        contender(
            f'request.headers["{header}"] = value',
            BY_HAND,
            "request.headers[header] = value",
            request,
            header=header,
            value=value,
        )
    )
    contenders += [contender(label, PEER, SIGN, request, auth=auth) for label, auth in peers]

    def prepare(request: httpx.Request) -> None:
        request.headers.pop(header, None)

    def outcome(request: httpx.Request) -> object:
        return request.headers.get_list(header)

    return Case(name, f"GET {URL}, sets {header}", request, contenders, prepare, outcome)


def query_case(client: httpx.Client) -> Case:
    request = client.build_request("GET", URL)
    url0 = request.url
    record = {
        "authType": "API_KEY",
        "apiKey": {"key": API_KEY_PARAM, "value": API_KEY, "position": "query"},
    }
    reset = RESET_URL + "\n"
    contenders = [
        contender(
            "credsign HttpxAuth (API_KEY query)",
            CREDSIGN,
            reset + SIGN,
            request,
            url0=url0,
            auth=credsign_auth(record),
        ),
        contender(
            f'request.url.copy_set_param("{API_KEY_PARAM}", key)',
            BY_HAND,
            reset + "request.url = request.url.copy_set_param(param, key)",
            request,
            url0=url0,
            param=API_KEY_PARAM,
            key=API_KEY,
        ),
        contender(
            f'httpx_auth.QueryApiKey(key, "{API_KEY_PARAM}")',
            PEER,
            reset + SIGN,
            request,
            url0=url0,
            auth=httpx_auth.QueryApiKey(API_KEY, API_KEY_PARAM),
        ),
        contender("(URL reset only, in every row)", BASELINE, RESET_URL, request, url0=url0),
    ]

    def prepare(request: httpx.Request) -> None:
        request.url = url0

    def outcome(request: httpx.Request) -> object:
        return str(request.url)

    what = f"GET {URL}, adds ?{API_KEY_PARAM}=...; url reset to the original each iteration"
    return Case("API_KEY query", what, request, contenders, prepare, outcome)


def build_cases(client: httpx.Client) -> list[Case]:
    basic = {"authType": "BASIC_AUTH", "username": USERNAME, "password": PASSWORD}
    bearer = {"authType": "BEARER_TOKEN", "token": TOKEN}
    api_key = {
        "authType": "API_KEY",
        "apiKey": {"key": API_KEY_HEADER, "value": API_KEY, "position": "header"},
    }
    basic_value = httpx.BasicAuth(USERNAME, PASSWORD)._auth_header
    return [
        header_case(
            "BASIC",
            client,
            "Authorization",
            basic_value,
            [
                ("credsign HttpxAuth (BASIC_AUTH)", basic),
                ("credsign HttpxAuth (BASIC_AUTH + baseUrl)", {**basic, "baseUrl": BASE_URL}),
            ],
            [
                ("httpx.BasicAuth(user, pass)", httpx.BasicAuth(USERNAME, PASSWORD)),
                ("httpx_auth.Basic(user, pass)", httpx_auth.Basic(USERNAME, PASSWORD)),
            ],
        ),
        header_case(
            "BEARER",
            client,
            "Authorization",
            "Bearer " + TOKEN,
            [("credsign HttpxAuth (BEARER_TOKEN)", bearer)],
            [
                (
                    'httpx_auth.HeaderApiKey("Bearer " + tok, "Authorization")*',
                    httpx_auth.HeaderApiKey("Bearer " + TOKEN, "Authorization"),
                ),
            ],
        ),
        header_case(
            "API_KEY header",
            client,
            API_KEY_HEADER,
            API_KEY,
            [("credsign HttpxAuth (API_KEY header)", api_key)],
            [
                (
                    f'httpx_auth.HeaderApiKey(key, "{API_KEY_HEADER}")',
                    httpx_auth.HeaderApiKey(API_KEY, API_KEY_HEADER),
                )
            ],
        ),
        query_case(client),
    ]


def report_case(case: Case) -> None:
    hand = case.role(BY_HAND)[0]
    peers = case.role(PEER)
    best_peer = min(peers, key=lambda item: item.best)
    best_peer_median = min(peers, key=lambda item: item.median)
    print(f"\n{case.name}: {case.what}")
    print_contenders(
        case.contenders,
        "ns",
        {"x by hand": (hand, hand), "x best peer": (best_peer, best_peer_median)},
    )


def summary(cases: dict[str, Case]) -> None:
    def credsign_vs_hand(case: Case) -> float:
        return case.role(CREDSIGN)[0].best / case.role(BY_HAND)[0].best

    header_ratios = {
        name: credsign_vs_hand(cases[name]) for name in ("BASIC", "BEARER", "API_KEY header")
    }
    shown = ", ".join(f"{name} {value:.2f}" for name, value in header_ratios.items())
    print(f"header auths within 1.3x by-hand: {shown}  [{met(max(header_ratios.values()) <= 1.3)}]")

    basic = cases["BASIC"].role(CREDSIGN)
    plain, scoped = basic[0], basic[1]
    print(
        f"BASIC with baseUrl (scope check per request): +{scoped.best - plain.best:.0f} ns"
        f" over plain BASIC, {credsign_vs_hand(cases['BASIC']) * scoped.best / plain.best:.2f}x"
        " by-hand"
    )

    query = cases["API_KEY query"]
    mine = query.role(CREDSIGN)[0]
    theirs = next(item for item in query.role(PEER) if "QueryApiKey" in item.label)
    reset = query.role(BASELINE)[0].best
    speedup = theirs.best / mine.best
    net = (theirs.best - reset) / max(mine.best - reset, 1.0)
    print(
        f"query API key speed-up vs httpx-auth QueryApiKey: {speedup:.1f}x (target >= 10x)"
        f"  [{met(speedup >= 10)}; {net:.1f}x net of the {reset:.0f} ns URL reset]"
    )


def main(argv: list[str] | None = None) -> None:
    rounds, sample_ms, quick = run_options(__doc__, 15, argv)

    print(f"{versions('credsign', 'httpx', 'httpx-auth')}, {machine()}")
    print(f"{fast_paths()}; {rounds_note(rounds, sample_ms, quick)}")
    print(
        "ns per request: min (and median) over rounds; ratios are min/min "
        "(median/median); < 1 is faster"
    )

    started = time.perf_counter()
    with httpx.Client() as client:
        cases = build_cases(client)
        for case in cases:
            case.check()
        measure([case.contenders for case in cases], rounds, sample_ms * 1e6)
    for case in cases:
        report_case(case)
    print(
        '\n* httpx and httpx-auth have no static bearer-token auth; HeaderApiKey("Bearer ...",'
        ' "Authorization") sets the same header and stands in for one.'
    )
    print()
    summary({case.name: case for case in cases})
    print_elapsed(started)


if __name__ == "__main__":
    main()
