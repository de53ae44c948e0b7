"""Every ```python block of README.md and docs/ runs as written, so the documentation cannot rot.

A block is a complete program, or its first line says ``# continues the block above``: it
then runs after the blocks it continues, in the same namespace. A block that defines
``test_*`` functions is a pytest module and runs under pytest (the credsign plugin loaded).
Each program runs in a fresh interpreter, in a temporary HOME and working directory (so
``CredentialStore.open()`` makes its default store there), with AWS keys in the environment
(botocore never asks the EC2 metadata endpoint). The text is never edited: only the network
is, from outside. Every request httpx or requests sends to a host other than 127.0.0.1
goes to the local httpbin's ``/anything`` (which answers 200 with what it received), with
the Host header of the URL as written. Output samples are tagged ``text``/``json``/``console``.
The programs start together (each mostly waits on its interpreter's start); a failure names
the Markdown file and line of its block, and the traceback's lines are the file's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
CONTINUES = "# continues the block above"


class Block(NamedTuple):
    path: str  # relative to the repository
    line: int  # 1-based line of the block's first code line
    code: str


def python_blocks(document: Path) -> list[Block]:
    """The fenced ```python blocks of a Markdown file (indented fences included)."""
    blocks: list[Block] = []
    fence: str | None = None
    start = 0
    body: list[str] = []
    for number, line in enumerate(document.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.lstrip()
        if fence is None:
            if stripped.startswith("```"):
                fence = stripped[3:].strip() or "-"
                indent = len(line) - len(stripped)
                start, body = number + 1, []
            continue
        if stripped.startswith("```"):
            if fence == "python":
                blocks.append(Block(str(document.relative_to(ROOT)), start, "\n".join(body)))
            fence = None
            continue
        body.append(line[indent:] if line[:indent].strip() == "" else line)
    return blocks


def chained(blocks: list[Block]) -> list[list[Block]]:
    """Each program: a block and the blocks that continue it."""
    chains: list[list[Block]] = []
    for block in blocks:
        if block.code.startswith(CONTINUES):
            assert chains and chains[-1][0].path == block.path, (
                f"{block.path}:{block.line}: continues no block above"
            )
            chains[-1].append(block)
        else:
            chains.append([block])
    return chains


def programs() -> list[list[Block]]:
    return chained([block for document in DOCUMENTS for block in python_blocks(document)])


def is_test_module(chain: list[Block]) -> bool:
    return any(line.startswith("def test_") for b in chain for line in b.code.splitlines())


# Runs in the child interpreter: route the network to httpbin, then run the program.
RUNNER = r"""
import json, sys
from urllib.parse import urlsplit

import httpx
import requests.adapters

job = json.loads(open(sys.argv[1], encoding="utf-8").read())
BASE = job["httpbin"]
LOCAL = {"127.0.0.1", "localhost", "::1"}


def routed(url):
    parts = urlsplit(url)
    if parts.hostname in LOCAL:
        return None
    return f"{BASE}/anything{parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")


def route_httpx(request):
    target = routed(str(request.url))
    if target is None:
        return request
    return httpx.Request(request.method, target, headers=request.headers,
                         stream=request.stream, extensions=request.extensions)


sync_handle = httpx.HTTPTransport.handle_request
async_handle = httpx.AsyncHTTPTransport.handle_async_request
httpx.HTTPTransport.handle_request = lambda self, r: sync_handle(self, route_httpx(r))


async def handle_async(self, request):
    return await async_handle(self, route_httpx(request))


httpx.AsyncHTTPTransport.handle_async_request = handle_async
requests_send = requests.adapters.HTTPAdapter.send


def send(self, request, **options):
    url, target = request.url, routed(request.url)
    if target is None:
        return requests_send(self, request, **options)
    added = "Host" not in request.headers
    if added:
        request.headers["Host"] = urlsplit(url).netloc
    request.url = target
    try:
        response = requests_send(self, request, **options)
    finally:
        request.url = url
        if added:
            del request.headers["Host"]
    response.url = url
    return response


requests.adapters.HTTPAdapter.send = send

if job["pytest"]:
    import pytest

    (path, line, code), = job["blocks"]
    module = "test_doc_block.py"
    with open(module, "w", encoding="utf-8") as file:
        file.write("\n" * (line - 1) + code + "\n")
    # a fixed seed: the documented example runs the same cases every time
    options = ["-q", "-p", "no:cacheprovider", "--hypothesis-seed=0", "--rootdir", "."]
    sys.exit(pytest.main([*options, module]))

namespace = {"__name__": "__main__", "__builtins__": __builtins__}
for path, line, code in job["blocks"]:
    # padded so that a traceback names the Markdown file and its line
    exec(compile("\n" * (line - 1) + code, path, "exec"), namespace)
"""

CHAINS = programs()


def run_program(chain: list[Block], httpbin_url: str, workdir: Path) -> str | None:
    """Run one program in a fresh interpreter: None if it succeeded, else what it printed."""
    job = workdir / "job.json"
    job.write_text(
        json.dumps({"httpbin": httpbin_url, "pytest": is_test_module(chain), "blocks": chain}),
        encoding="utf-8",
    )
    home = workdir / "home"
    home.mkdir()
    drop = ("CREDSIGN_", "AWS_", "XDG_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "PYTEST_")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(drop)}
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
        AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(home / "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "aws-credentials"),
        NO_PROXY="*",
    )
    run = subprocess.run(
        [sys.executable, "-c", RUNNER, str(job)],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return None if run.returncode == 0 else run.stdout + run.stderr


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest, httpbin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[int, Future[str | None]]]:
    """The selected programs, started together: each waits mostly on its interpreter's start."""
    selected = {
        item.callspec.params["index"]
        for item in request.session.items
        if isinstance(item, pytest.Function) and item.originalname == "test_documented_python_runs"
    }
    with ThreadPoolExecutor(max_workers=2 * (os.cpu_count() or 1)) as pool:
        yield {
            index: pool.submit(
                run_program, CHAINS[index], httpbin_url, tmp_path_factory.mktemp("doc")
            )
            for index in sorted(selected)
        }


@pytest.mark.parametrize(
    "index", range(len(CHAINS)), ids=[f"{chain[0].path}:{chain[0].line}" for chain in CHAINS]
)
def test_documented_python_runs(index: int, outcomes: dict[int, Future[str | None]]) -> None:
    chain = CHAINS[index]
    assert not (is_test_module(chain) and len(chain) > 1), "a pytest module is one block"
    failure = outcomes[index].result()
    where = ", ".join(f"{block.path}:{block.line}" for block in chain)
    assert failure is None, f"the Python block at {where} failed:\n{failure}"


def test_blocks_are_found() -> None:
    """The extractor sees the README's blocks (an empty list would pass vacuously)."""
    assert any(chain[0].path == "README.md" for chain in CHAINS)
    assert len(CHAINS) >= 10


def test_readme_links_resolve() -> None:
    """The README links into docs/ (mkdocs --strict checks the links inside docs/ itself)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = [part.split(")", 1)[0] for part in text.split("](")[1:]]
    local = [t.split("#", 1)[0] for t in targets if "://" not in t and not t.startswith("#")]
    assert local, "the README links to no page"
    assert [t for t in local if not (ROOT / t).is_file()] == []


def test_layout_lists_every_module() -> None:
    """docs/layout.md names every module, example, benchmark and vector suite in the tree."""
    layout = (ROOT / "docs" / "layout.md").read_text(encoding="utf-8")
    files = [
        *(ROOT / "src" / "credsign").rglob("*.py"),
        *(ROOT / "examples").glob("*.py"),
        *(ROOT / "benchmarks").glob("*.py"),
    ]
    names = {p.name for p in files if p.name != "__init__.py"}
    names |= {p.name for p in (ROOT / "tests" / "vectors").iterdir() if p.is_dir()}
    missing = sorted(name for name in names if name.removesuffix(".py") not in layout)
    assert missing == [], f"docs/layout.md does not mention {missing}"


def test_a_continued_block_runs_after_the_one_above(httpbin_url: str, tmp_path: Path) -> None:
    """The chain shares one namespace, and a failure's traceback names its Markdown line."""
    first = Block("doc.md", 3, "total = 40")
    second = Block("doc.md", 9, f"{CONTINUES}\nassert total + 2 == 42\nundefined_name")
    [chain] = chained([first, second])
    failure = run_program(chain, httpbin_url, tmp_path)
    assert failure is not None
    assert 'File "doc.md", line 11' in failure and "NameError" in failure
