"""Timing and report helpers shared by the benchmark scripts (not a benchmark itself).

A :class:`Contender` is one statement compiled inline into ``timeit``'s loop;
:func:`measure` samples groups of contenders round-robin so that slow phases of
a noisy machine hit every contender of a group alike. The rest builds the requests,
the header lines, the tables and the summary lines the scripts print alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import timeit
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from typing import Any, TypeVar

import httpx
import requests

from credsign.adapters import httpx_fast

T = TypeVar("T")

# Roles of the contenders.
CREDSIGN = "credsign"
FLOOR = "floor"
PEER = "peer"
BASELINE = "baseline"

#: What ``httpx.Client`` does once per request with an auth.
SIGN = "next(auth.sync_auth_flow(request))"
#: The clock of the fixed-clock contenders.
FIXED_NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)


@dataclass
class Contender:
    """One way of doing the work: a statement timed inline by ``timeit``."""

    label: str
    role: str
    stmt: str
    namespace: dict[str, Any]
    number: int = 1
    samples: list[float] = field(default_factory=list)  # ns per run, one per round

    def __post_init__(self) -> None:
        self.timer = timeit.Timer(self.stmt, globals=self.namespace, timer=time.perf_counter_ns)

    def run(self, number: int) -> float:
        """Run the statement ``number`` times; ns per run (timeit turns gc off meanwhile)."""
        return float(self.timer.timeit(number)) / number

    def calibrate(self, sample_ns: float) -> None:
        """Pick the iteration count that makes one sample last about ``sample_ns``."""
        number = 1
        while True:
            elapsed = self.run(number) * number
            if elapsed >= sample_ns / 10 or number >= 10_000_000:
                break
            number *= 10
        self.number = max(1, round(number * sample_ns / max(elapsed, 1.0)))

    @property
    def best(self) -> float:
        return min(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


def round_robin(items: Sequence[T], rounds: int, sample: Callable[[T, int], None]) -> None:
    """Call ``sample(item, round)`` for each item in each round, starting one further each round."""
    count = len(items)
    for index in range(rounds):
        for offset in range(count):
            sample(items[(index + offset) % count], index)


def measure(
    groups: Sequence[Sequence[Contender]], rounds: int, sample_ns: float, warmup: int = 1000
) -> None:
    """Warm up and calibrate every contender, then sample each group round-robin.

    In each round every contender of a group takes one sample of about
    ``sample_ns``; the starting contender rotates from round to round. ``warmup``
    runs first warm caches and any lazy state.
    """
    for group in groups:
        for item in group:
            item.run(warmup)
            item.calibrate(sample_ns)
    for group in groups:
        round_robin(group, rounds, lambda item, _: item.samples.append(item.run(item.number)))


def ratio(value: float, reference: float | None) -> str:
    return "-" if reference is None else f"{value / reference:5.2f}"


def ratios(item: Contender, reference: Contender, median_reference: Contender | None = None) -> str:
    """``min/min (median/median)`` of ``item`` against ``reference`` (or ``median_reference``)."""
    median_of = (median_reference or reference).median
    return f"{ratio(item.best, reference.best)} ({ratio(item.median, median_of)})"


def us(ns: float) -> str:
    return f"{ns / 1000:8.2f}"


def per_call(ns: float, unit: str) -> str:
    """A time per call as a table cell: ``unit`` is "ns" or "µs"."""
    return us(ns) if unit == "µs" else f"{ns:8.0f}"


def print_contenders(
    group: Sequence[Contender],
    unit: str,
    references: Mapping[str, tuple[Contender, Contender]],
    unrated: Collection[str] = (BASELINE,),
    extra: tuple[str, Callable[[Contender], str]] | None = None,
) -> None:
    """The table of a group: label, role, min and median per call, then one column of
    :func:`ratios` per reference (title: (reference by min, reference by median)); rows
    of an ``unrated`` role show "-" there. ``extra`` adds a last column (title, cell)."""
    width = max(len(item.label) for item in group)
    header = f"  {'contender':<{width}}  {'role':<8}  {'min ' + unit:>8}  {'med ' + unit:>8}"
    header += "".join(f"  {title:>15}" for title in references)
    print(header + (f"  {extra[0]}" if extra else ""))
    for item in group:
        line = f"  {item.label:<{width}}  {item.role:<8}"
        line += f"  {per_call(item.best, unit)}  {per_call(item.median, unit)}"
        for best, median in references.values():
            cell = "-" if item.role in unrated else ratios(item, best, median)
            line += f"  {cell:>15}"
        print(line + (f"  {extra[1](item)}" if extra else ""))


def print_signing_table(
    group: Sequence[Contender], extra: tuple[str, Callable[[Contender], str]] | None = None
) -> None:
    """A signing group's table in µs, with ratios to credsign (its first row) and the floor."""
    mine = group[0]
    floor = next(item for item in group if item.role == FLOOR)
    references = {"x credsign": (mine, mine), "x floor": (floor, floor)}
    print_contenders(group, "µs", references, extra=extra)


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def print_signing_summary(
    group: Sequence[Contender],
    peer_name: str,
    peer: Contender,
    speedup_target: float,
    floor_target: float,
    peer_system: Contender | None = None,
) -> None:
    """The verdicts of a signing group whose first two rows are credsign with the fixed and
    with the system clock: its speed-up over ``peer`` (at least ``speedup_target``) and its
    slowdown against the floor (at most ``floor_target``). ``peer_system`` is the peer's own
    system-clock row, if it has one (else ``peer`` reads the system clock already)."""
    fixed, system = group[0], group[1]
    floor = next(item for item in group if item.role == FLOOR)
    speedup = peer.best / fixed.best
    clock = "with the system clock" if peer_system is None else "both with the system clock"
    print(
        f"credsign vs {peer_name}: {speedup:.1f}x faster (target >= {speedup_target:g}x)  "
        f"[{met(speedup >= speedup_target)}; medians {peer.median / fixed.median:.1f}x; "
        f"{clock} {(peer_system or peer).best / system.best:.1f}x]"
    )
    slowdown = fixed.best / floor.best
    print(
        f"credsign vs hand-written minimal: {slowdown:.2f}x (target <= {floor_target:g}x)  "
        f"[{met(slowdown <= floor_target)}; medians {fixed.median / floor.median:.2f}x; "
        f"with the system clock {system.best / floor.best:.2f}x]"
    )


def print_elapsed(started: float) -> None:
    """The closing line of every benchmark: how long it took since ``started``."""
    print(f"(measured in {time.perf_counter() - started:.1f} s)")


def exit_unless_agree(outcomes: Mapping[str, object], what: str) -> None:
    """Exit with ``what`` and every outcome unless all outcomes are the same."""
    if len(set(map(repr, outcomes.values()))) != 1:
        lines = "\n".join(f"  {label}: {outcome!r}" for label, outcome in outcomes.items())
        sys.exit(f"{what}:\n{lines}")


def version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed (imported from source)"


def versions(*distributions: str) -> str:
    """``name version`` of each installed distribution, comma-separated."""
    return ", ".join(f"{name} {version(name)}" for name in distributions)


def machine() -> str:
    return (
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{os.cpu_count()} CPUs"
    )


def fast_paths() -> str:
    return f"credsign fast paths: headers={httpx_fast.FAST_HEADERS} url={httpx_fast.FAST_URL}"


def rounds_note(rounds: int, sample_ms: float, quick: bool, per: str = "contender") -> str:
    return f"{rounds} interleaved rounds of ~{sample_ms:g} ms per {per}" + (
        " (--quick: numbers are rough)" if quick else ""
    )


def print_signing_header(
    distributions: Sequence[str], rounds: int, sample_ms: float, quick: bool
) -> None:
    """The first lines of a signing benchmark: versions, machine, rounds and units."""
    print(versions(*distributions))
    print(f"{machine()}; {fast_paths()}")
    print(
        f"{rounds_note(rounds, sample_ms, quick)}; µs per request: min (and median) over rounds;"
        " ratios are min/min (median/median)"
    )


def fixed_clock() -> datetime:
    return FIXED_NOW


@dataclass(frozen=True)
class Post:
    """A POST request to sign; each contender gets its own copy, built as httpx or requests does."""

    url: str
    body: bytes
    headers: Mapping[str, str]

    def httpx(self, client: httpx.Client) -> httpx.Request:
        return client.build_request("POST", self.url, content=self.body, headers=self.headers)

    def prepared(self) -> requests.PreparedRequest:
        return requests.Request("POST", self.url, data=self.body, headers=self.headers).prepare()


def json_body(size: int, pad: str, **fields: Any) -> bytes:
    """A JSON object of exactly ``size`` bytes: ``fields``, then ``pad`` filled up with x."""
    skeleton = json.dumps({**fields, pad: ""}).encode()
    body = json.dumps({**fields, pad: "x" * (size - len(skeleton))}).encode()
    assert len(body) == size
    return body


def run_options(
    doc: str | None, default_rounds: int, argv: list[str] | None = None
) -> tuple[int, float, bool]:
    """(rounds, sample length in ms, quick) from the command line every benchmark takes.

    ``doc`` is the script's docstring; its first paragraph describes the script in ``--help``.
    """
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: few, short rounds")
    parser.add_argument(
        "--rounds", type=int, help=f"samples per contender (default {default_rounds}, quick 3)"
    )
    parser.add_argument(
        "--sample-ms", type=float, help="target length of one sample (default 100, quick 5)"
    )
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else default_rounds)
    sample_ms = args.sample_ms or (5.0 if args.quick else 100.0)
    return rounds, sample_ms, args.quick
