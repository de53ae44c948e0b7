"""CredentialStore speed on SQLite and PostgreSQL, and what a live store-bound auth adds.

For SQLite (a file in a temporary directory) and PostgreSQL (a throwaway server from
``examples/local_servers.py``; its rows are skipped, with a note, when the server
binaries or psycopg are missing) it reports:

- create and update throughput (records/s): 1 writer; 4 writer threads sharing one
  ``CredentialStore``; 4 writer processes with a store each. Updates go to one record per
  writer ("different records") or all to one record ("same record").
- ``get``, ``list`` (100 records) and ``generation`` latency (µs per call).
- the per-request overhead of ``store.httpx_auth(integration, auth_id)`` over
  ``credsign.HttpxAuth(record)`` built from the same record directly, both timed as
  ``next(auth.sync_auth_flow(request))`` on one request (target: under 1 µs extra).

Every part runs interleaved: in each round every load (or contender) takes one sample,
the starting one rotating from round to round; the best and the median are reported. The
master key is fixed (no key file is written) and everything lives in temporary directories.

    .venv/bin/python benchmarks/bench_store.py           # full run, 30-40 s
    .venv/bin/python benchmarks/bench_store.py --quick   # smoke run, a few seconds
"""

from __future__ import annotations

import base64
import multiprocessing
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from _timing import (
    SIGN,
    Contender,
    exit_unless_agree,
    machine,
    measure,
    met,
    print_elapsed,
    round_robin,
    rounds_note,
    run_options,
    version,
    versions,
)
from credsign import HttpxAuth
from credsign.store import CredentialStore

MASTER_KEY = base64.b64encode(bytes(range(32))).decode()  # fixed: no key file is written
TOKEN = "tok-4f9c2a7e1b3d5f60718293a4b5c6d7e8"
#: What create writes and list reads back (a secret, and view fields besides the token).
STORED = {
    "authType": "BEARER_TOKEN",
    "token": TOKEN,
    "label": "bench",
    "baseUrl": "https://api.example.com/v1",
    "headers": [{"key": "X-Tenant", "value": "bench"}],
}
#: What the live-overhead contenders sign with: the plainest record, as in bench_static.py.
SIGNED = {"authType": "BEARER_TOKEN", "token": TOKEN}
URL = "https://api.example.com/v1/items?page=2&limit=50"

CREATE_INTEGRATION = "bench-create"
UPDATE_INTEGRATION = "bench-update"
LIST_INTEGRATION = "bench-list"
LIVE_INTEGRATION = "bench-live"
LIST_SIZE = 100
WRITERS = 4
MIN_WRITES = 3  # per writer and batch
BARRIER_SECONDS = 120.0
TARGET_NS = 1000.0  # live overhead per request

CREATE, UPDATE = "create", "update"
SINGLE, THREADS, PROCESSES = "1 writer", f"{WRITERS} threads", f"{WRITERS} processes"


def open_store(url: str) -> CredentialStore:
    return CredentialStore.open(url, master_key=MASTER_KEY)


def write_batch(
    store: CredentialStore,
    operation: str,
    targets: Sequence[str],
    count: int,
    tag: str,
    barrier: Any,
) -> tuple[float, float]:
    """``count`` creates or updates (cycling over ``targets``); perf_counter at start and end.

    The store is touched first so this thread's or process's connection is open before the
    start line; with a barrier, all writers cross the start line together.
    """
    store.generation()
    if barrier is not None:
        barrier.wait(BARRIER_SECONDS)
    start = time.perf_counter()
    if operation == CREATE:
        for _ in range(count):
            store.create(CREATE_INTEGRATION, STORED)
    else:
        for index in range(count):
            target = targets[index % len(targets)]
            store.update(UPDATE_INTEGRATION, target, {"token": f"{TOKEN}-{tag}-{index}"})
    return start, time.perf_counter()


# -- writer processes: one store per URL in each process ------------------------------

_PROCESS: dict[str, Any] = {}


def _process_init(barrier: Any) -> None:
    _PROCESS["barrier"] = barrier
    _PROCESS["stores"] = {}


def _process_store(url: str) -> CredentialStore:
    stores: dict[str, CredentialStore] = _PROCESS["stores"]
    if url not in stores:
        stores[url] = open_store(url)
    return stores[url]


def _process_batch(
    url: str, operation: str, targets: Sequence[str], count: int, tag: str
) -> tuple[float, float]:
    return write_batch(_process_store(url), operation, targets, count, tag, _PROCESS["barrier"])


def _process_close() -> None:
    _PROCESS["barrier"].wait(BARRIER_SECONDS)  # one call per process
    for store in _PROCESS["stores"].values():
        store.close()


# -- backends and loads -----------------------------------------------------------------


@dataclass
class Backend:
    name: str
    url: str
    store: CredentialStore
    update_ids: list[str]  # one record per writer
    shared_id: str  # the record every writer updates in the "same record" loads
    list_ids: list[str]
    live_id: str


def prepare_backend(name: str, url: str) -> Backend:
    store = open_store(url)
    update_ids = [store.create(UPDATE_INTEGRATION, STORED)["authId"] for _ in range(WRITERS)]
    shared_id = store.create(UPDATE_INTEGRATION, STORED)["authId"]
    list_ids = [store.create(LIST_INTEGRATION, STORED)["authId"] for _ in range(LIST_SIZE)]
    live_id = store.create(LIVE_INTEGRATION, SIGNED)["authId"]
    return Backend(name, url, store, update_ids, shared_id, list_ids, live_id)


@dataclass
class Load:
    """One kind of write on one backend; samples are records/s, one per round."""

    backend: Backend
    operation: str
    label: str
    mode: str
    same_record: bool = False
    count: int = MIN_WRITES  # writes per writer and batch
    samples: list[float] = field(default_factory=list)

    @property
    def writers(self) -> int:
        return 1 if self.mode == SINGLE else WRITERS

    def targets(self, writer: int) -> list[str]:
        if self.operation == CREATE:
            return []
        if self.same_record:
            return [self.backend.shared_id]
        return [self.backend.update_ids[writer]]

    @property
    def best(self) -> float:
        return max(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


ROWS = [  # (operation, label, mode, same record)
    (CREATE, "create", SINGLE, False),
    (CREATE, "create", THREADS, False),
    (CREATE, "create", PROCESSES, False),
    (UPDATE, "update, own record", SINGLE, False),
    (UPDATE, "update, different records", THREADS, False),
    (UPDATE, "update, different records", PROCESSES, False),
    (UPDATE, "update, same record", THREADS, True),
    (UPDATE, "update, same record", PROCESSES, True),
]


class Writers:
    """Persistent writer threads (each keeps its connections) and, if possible, processes."""

    def __init__(self) -> None:
        self.threads = ThreadPoolExecutor(WRITERS, thread_name_prefix="bench-writer")
        self.thread_barrier = threading.Barrier(WRITERS)
        self.processes: ProcessPoolExecutor | None = None
        self.process_note = ""
        methods = multiprocessing.get_all_start_methods()
        method = "forkserver" if "forkserver" in methods else "spawn"
        try:
            context = multiprocessing.get_context(method)
            if method == "forkserver":  # import this module once; workers fork from there
                context.set_forkserver_preload([__name__])
            self.processes = ProcessPoolExecutor(
                WRITERS,
                mp_context=context,
                initializer=_process_init,
                initargs=(context.Barrier(WRITERS),),
            )
            self.process_note = f"{method} start method"
        except (OSError, ValueError, ImportError) as error:
            self.process_note = f"unavailable ({error})"

    def run(self, load: Load, count: int, tag: str) -> float:
        """One batch of ``count`` writes per writer; records/s from first start to last end."""
        store = load.backend.store
        if load.mode == SINGLE:
            spans = [write_batch(store, load.operation, load.targets(0), count, tag, None)]
        else:
            jobs = []
            for writer in range(WRITERS):
                targets, writer_tag = load.targets(writer), f"{tag}-{writer}"
                if load.mode == THREADS:
                    jobs.append(
                        self.threads.submit(
                            write_batch,
                            store,
                            load.operation,
                            targets,
                            count,
                            writer_tag,
                            self.thread_barrier,
                        )
                    )
                else:
                    assert self.processes is not None
                    jobs.append(
                        self.processes.submit(
                            _process_batch,
                            load.backend.url,
                            load.operation,
                            targets,
                            count,
                            writer_tag,
                        )
                    )
            spans = [job.result() for job in jobs]
        elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
        return count * load.writers / elapsed

    def close(self, backends: Sequence[Backend]) -> None:
        def close_thread() -> None:
            self.thread_barrier.wait(BARRIER_SECONDS)  # one call per thread
            for backend in backends:
                backend.store.close()

        for pool, task in ((self.threads, close_thread), (self.processes, _process_close)):
            if pool is not None:
                closing = [pool.submit(task) for _ in range(WRITERS)]
                for job in closing:
                    job.result()
                pool.shutdown()


def start_processes(writers: Writers, loads: list[Load]) -> list[Load]:
    """Start the writer processes (the first batch does); without them, drop their loads."""
    pool = writers.processes
    if pool is not None:
        probe = next(load for load in loads if load.mode == PROCESSES)
        try:
            writers.run(probe, 1, "start")
        except Exception as error:  # a sandbox may forbid processes or semaphores
            writers.process_note = f"unavailable ({type(error).__name__}: {error})"
            writers.processes = None
            pool.shutdown(wait=False, cancel_futures=True)
    if writers.processes is None:
        return [load for load in loads if load.mode != PROCESSES]
    return loads


def measure_writes(writers: Writers, loads: Sequence[Load], rounds: int, sample_s: float) -> None:
    """Size each load's batch to about ``sample_s``, then take batches round-robin."""
    for load in loads:
        rate = writers.run(load, MIN_WRITES, "warm")
        load.count = max(MIN_WRITES, round(rate * sample_s / load.writers))

    def sample(load: Load, index: int) -> None:
        load.samples.append(writers.run(load, load.count, f"r{index}"))

    round_robin(loads, rounds, sample)


# -- read latency -------------------------------------------------------------------------


def read_contenders(backend: Backend) -> list[Contender]:
    names = {"store": backend.store, "integration": LIST_INTEGRATION}
    names["auth_id"] = backend.list_ids[0]
    return [
        Contender(
            "get(integration, auth_id)", backend.name, "store.get(integration, auth_id)", names
        ),
        Contender(
            f"list(integration), {LIST_SIZE} records",
            backend.name,
            "store.list(integration)",
            names,
        ),
        Contender(
            "generation() (a live auth's refresh check)",
            backend.name,
            "store.generation()",
            names,
        ),
    ]


# -- live auth overhead ---------------------------------------------------------------------


def live_contenders(backends: Sequence[Backend], request: httpx.Request) -> list[Contender]:
    first = backends[0]
    direct = HttpxAuth(first.store.record(LIVE_INTEGRATION, first.live_id))
    contenders = [
        Contender(
            "credsign.HttpxAuth(store.record(...))",
            "direct",
            SIGN,
            {"request": request, "auth": direct},
        )
    ]
    for backend in backends:
        live = backend.store.httpx_auth(LIVE_INTEGRATION, backend.live_id)
        contenders.append(
            Contender(
                f"store.httpx_auth(...) on {backend.name}",
                "live",
                SIGN,
                {"request": request, "auth": live},
            )
        )
    return contenders


def check_live(contenders: Sequence[Contender], request: httpx.Request) -> None:
    """Every contender must leave the same Authorization header on the request."""
    found = {}
    for item in contenders:
        request.headers.pop("Authorization", None)
        item.run(1)
        found[item.label] = request.headers.get_list("Authorization")
    exit_unless_agree(found, "live and direct auths disagree on the signed request")


# -- setup and report -------------------------------------------------------------------------


def filesystem(path: Path) -> str:
    """The type of the filesystem holding ``path`` (from /proc/mounts), or "unknown"."""
    target = str(path.resolve()).rstrip("/") + "/"
    found = ("", "unknown")
    try:
        with open("/proc/mounts") as mounts:
            for line in mounts:
                parts = line.split()
                if len(parts) < 3:
                    continue
                mount = parts[1].rstrip("/") + "/"
                if target.startswith(mount) and len(mount) > len(found[0]):
                    found = (mount, parts[2])
    except OSError:
        pass
    return found[1]


def start_postgres(stack: ExitStack) -> tuple[str | None, str]:
    """(URL of a throwaway server, or None; what to print about it)."""
    examples = Path(__file__).resolve().parents[1] / "examples"
    if str(examples) not in sys.path:
        sys.path.insert(0, str(examples))
    try:
        import psycopg  # noqa: F401  # the 'store' extra
        from local_servers import postgres_server
    except ImportError as error:
        return None, f"skipped: {error}"
    try:
        url: str = stack.enter_context(postgres_server())
    except Exception as error:  # PostgresUnavailable (no binaries), or it failed to start
        reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        return None, f"skipped: {type(error).__name__}: {reason}"
    return url, ""


def postgres_settings(store: CredentialStore) -> str:
    with store.backend.transaction() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
        cursor.execute("SHOW fsync")
        fsync = cursor.fetchone()[0]
    return f"server {server}, fsync={fsync}"


def report_writes(loads: Sequence[Load], backends: Sequence[Backend], rounds: int) -> None:
    print(
        f"\nwrites, records/s: best (median) of {rounds} interleaved batches; "
        "x = best / best of the same operation with 1 writer"
    )
    width = max(len(label) for _, label, _, _ in ROWS)
    line = f"  {'operation':<{width}}  {'writers':<11}"
    for backend in backends:
        line += f"  {backend.name:>24}"
    print(line)
    found = {(load.backend.name, load.label, load.mode): load for load in loads}
    for operation, label, mode, _ in ROWS:
        line = f"  {label:<{width}}  {mode:<11}"
        shown = False
        for backend in backends:
            load = found.get((backend.name, label, mode))
            if load is None:
                line += f"  {'-':>24}"
                continue
            shown = True
            single = next(
                item
                for item in loads
                if item.backend is backend and item.operation == operation and item.mode == SINGLE
            )
            cell = f"{load.best:,.0f} ({load.median:,.0f}) {load.best / single.best:4.2f}x"
            line += f"  {cell:>24}"
        if shown:
            print(line)


def report_reads(groups: Sequence[Sequence[Contender]], rounds: int) -> None:
    print(f"\nreads, µs per call: min (median) over {rounds} interleaved samples")
    width = max(len(item.label) for group in groups for item in group)
    line = f"  {'call':<{width}}"
    for group in groups:
        line += f"  {group[0].role:>20}"
    print(line)
    for index, item in enumerate(groups[0]):
        line = f"  {item.label:<{width}}"
        for group in groups:
            entry = group[index]
            cell = f"{entry.best / 1000:,.1f} ({entry.median / 1000:,.1f})"
            line += f"  {cell:>20}"
        print(line)


def report_live(contenders: Sequence[Contender], refresh: float) -> None:
    direct = contenders[0]
    print(f"\nlive auth overhead: {SIGN}, BEARER_TOKEN, GET {URL}")
    width = max(len(item.label) for item in contenders)
    print(f"  {'contender':<{width}}  {'min ns':>8}  {'med ns':>8}  {'extra ns, min (med)':>20}")
    for item in contenders:
        extra = (
            "-"
            if item is direct
            else f"{item.best - direct.best:+.0f} ({item.median - direct.median:+.0f})"
        )
        print(f"  {item.label:<{width}}  {item.best:8.0f}  {item.median:8.0f}  {extra:>20}")
    print(
        f"  (a live auth also calls store.generation() at most once per refresh_interval = "
        f"{refresh:g} s; see the reads table)"
    )


def summary(contenders: Sequence[Contender]) -> None:
    direct = contenders[0]
    for item in contenders[1:]:
        extra = item.best - direct.best
        print(
            f"{item.label} vs HttpxAuth(record): {extra:+.0f} ns per request "
            f"(medians {item.median - direct.median:+.0f} ns; target < {TARGET_NS:.0f} ns)"
            f"  [{met(extra < TARGET_NS)}]"
        )


def main(argv: list[str] | None = None) -> None:
    rounds, sample_ms, quick = run_options(__doc__, 15, argv)
    started = time.perf_counter()
    print(f"{versions('credsign', 'httpx')}, {machine()}")
    print(rounds_note(rounds, sample_ms, quick, per="load or contender"))

    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="credsign-bench-")))
        sqlite_path = directory / "credentials.db"
        backends = [prepare_backend("SQLite", f"sqlite://{sqlite_path}")]
        stack.callback(backends[0].store.close)
        print(
            f"SQLite {sqlite3.sqlite_version}: {sqlite_path} ({filesystem(directory)}), "
            "WAL, synchronous=FULL: every commit waits for fsync"
        )
        postgres_url, note = start_postgres(stack)
        if postgres_url is None:
            print(f"PostgreSQL: {note}; its rows are left out")
        else:
            backend = prepare_backend("PostgreSQL", postgres_url)
            stack.callback(backend.store.close)
            backends.append(backend)
            print(
                f"PostgreSQL {postgres_settings(backend.store)} (a throwaway server: commits "
                f"do not wait for the disk), psycopg {version('psycopg')}, TCP on 127.0.0.1"
            )

        writers = Writers()
        loads = [
            Load(backend, operation, label, mode, same)
            for backend in backends
            for operation, label, mode, same in ROWS
        ]
        loads = start_processes(writers, loads)
        print(f"writer processes: {writers.process_note}")
        try:
            measure_writes(writers, loads, rounds, sample_ms / 1000)
        finally:
            writers.close(backends)

        groups = [read_contenders(backend) for backend in backends]
        # a short warm-up: a store call takes up to milliseconds
        reads = [item for group in groups for item in group]
        measure([reads], rounds, sample_ms * 1e6, warmup=3)

        with httpx.Client() as client:
            request = client.build_request("GET", URL)
        live = live_contenders(backends, request)
        check_live(live, request)
        measure([live], rounds, sample_ms * 1e6)

    report_writes(loads, backends, rounds)
    print(
        "  threads share one interpreter: the Python part of a write (validation, JSON,\n"
        "  AES-GCM, building the view) runs one thread at a time, only database waits\n"
        "  overlap. Processes run that part in parallel, on up to "
        f"{os.cpu_count()} CPUs here. Both queue\n"
        "  on the same locks: SQLite has one writer at a time (BEGIN IMMEDIATE), and every\n"
        "  write, on either backend, bumps the one store-wide generation row."
    )
    report_reads(groups, rounds)
    report_live(live, backends[0].store.refresh_interval)
    print()
    summary(live)
    print_elapsed(started)


if __name__ == "__main__":
    main()
