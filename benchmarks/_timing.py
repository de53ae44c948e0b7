"""Timing helpers shared by the benchmark scripts (not a benchmark itself).

A :class:`Contender` is one statement compiled inline into ``timeit``'s loop;
:func:`measure` samples groups of contenders round-robin so that slow phases of
a noisy machine hit every contender of a group alike.
"""

from __future__ import annotations

import argparse
import statistics
import time
import timeit
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any


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


def measure(groups: Sequence[Sequence[Contender]], rounds: int, sample_ns: float) -> None:
    """Warm up and calibrate every contender, then sample each group round-robin.

    In each round every contender of a group takes one sample of about
    ``sample_ns``; the starting contender rotates from round to round.
    """
    for group in groups:
        for item in group:
            item.run(1000)  # warm caches and any lazy state
            item.calibrate(sample_ns)
    for group in groups:
        count = len(group)
        for index in range(rounds):
            for offset in range(count):  # round-robin, starting one further each round
                item = group[(index + offset) % count]
                item.samples.append(item.run(item.number))


def ratio(value: float, reference: float | None) -> str:
    return "-" if reference is None else f"{value / reference:5.2f}"


def version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed (imported from source)"


def run_options(
    description: str, default_rounds: int, argv: list[str] | None = None
) -> tuple[int, float, bool]:
    """(rounds, sample length in ms, quick) from the command line every benchmark takes."""
    parser = argparse.ArgumentParser(description=description)
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
