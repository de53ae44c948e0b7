"""Package hygiene: the licence files, version, project metadata and changelog agree, and
the wheel carries what the library reads at run time and the licence it is under.

The wheel is built from the checkout (``pip wheel``), so its METADATA is pyproject.toml's
as it stands, whatever the development install was built from.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import zipfile
from email.message import Message
from email.parser import Parser
from importlib import metadata
from pathlib import Path

import pytest

import credsign

ROOT = Path(__file__).resolve().parent.parent
# https://www.apache.org/licenses/LICENSE-2.0.txt, as AWS's test suite and s3transfer ship it
APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
KEEP_A_CHANGELOG_SECTIONS = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
PYTHON_CLASSIFIER = re.compile(r"Programming Language :: Python :: 3\.(\d+)")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (path,) = out.glob("credsign-*.whl")
    return zipfile.ZipFile(path)


@pytest.fixture(scope="module")
def meta(wheel: zipfile.ZipFile) -> Message:
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return Parser().parsestr(wheel.read(name).decode())


def test_license_is_the_verbatim_apache_2_text(meta: Message) -> None:
    assert meta["License-Expression"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_bytes()
    assert hashlib.sha256(text).hexdigest() == APACHE_2_SHA256
    assert (ROOT / "tests/vectors/aws-signing-test-suite/LICENSE").read_bytes() == text


def test_notice_credits_the_copied_aws_test_suite() -> None:
    notice = (ROOT / "NOTICE").read_text()
    assert notice.startswith("credsign\n")
    assert "tests/vectors/aws-signing-test-suite" in notice
    assert (ROOT / "tests/vectors/aws-signing-test-suite/NOTICE").is_file()


def test_wheel_carries_typing_data_and_licence_files(wheel: zipfile.ZipFile, meta: Message) -> None:
    names = set(wheel.namelist())
    assert {"credsign/py.typed", "credsign/providers/catalog.json"} <= names
    assert sorted(meta.get_all("License-File") or []) == ["LICENSE", "NOTICE"]
    dist_info = f"credsign-{meta['Version']}.dist-info"
    for licence in ("LICENSE", "NOTICE"):
        assert wheel.read(f"{dist_info}/licenses/{licence}") == (ROOT / licence).read_bytes()
    assert not [n for n in names if n.startswith("tests/")]


def test_version_is_the_distributions(meta: Message) -> None:
    assert credsign.__version__ == metadata.version("credsign") == meta["Version"]


def test_version_of_an_uninstalled_source_tree_is_a_placeholder(tmp_path: Path) -> None:
    program = (
        "from importlib import metadata\n"
        "def version(name):\n"
        "    raise metadata.PackageNotFoundError(name)\n"
        "metadata.version = version  # as with src/ on sys.path and nothing installed\n"
        "import credsign\n"
        "print(credsign.__version__)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "0+unknown"


def test_project_urls_and_classifiers(meta: Message) -> None:
    urls = dict(entry.split(", ", 1) for entry in meta.get_all("Project-URL") or [])
    assert set(urls) == {"Homepage", "Documentation", "Changelog", "Issues"}
    assert all(url.startswith("https://") for url in urls.values())
    classifiers = meta.get_all("Classifier") or []
    assert "Typing :: Typed" in classifiers
    assert not [c for c in classifiers if c.startswith("License ::")]  # PEP 639: the expression
    minors = [int(m[1]) for c in classifiers if (m := PYTHON_CLASSIFIER.fullmatch(c))]
    assert meta["Requires-Python"] == f">=3.{min(minors)}"


def test_changelog_keeps_a_changelog_and_starts_with_this_release(meta: Message) -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog\n")
    assert "https://keepachangelog.com/en/1.1.0/" in text
    releases = re.findall(r"^## \[([^\]]+)\]", text, flags=re.MULTILINE)
    assert releases[releases[0] == "Unreleased"] == meta["Version"]
    sections = set(re.findall(r"^### (.+)$", text, flags=re.MULTILINE))
    assert sections
    assert sections <= KEEP_A_CHANGELOG_SECTIONS
    for release in releases:  # each release heading's link is defined at the bottom
        assert re.search(rf"^\[{re.escape(release)}\]: https://", text, flags=re.MULTILINE)
