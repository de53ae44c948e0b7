"""`make demo` keeps working: the demo script runs end to end against its local servers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).parents[1] / "examples" / "demo.py"


def test_demo_runs_end_to_end() -> None:
    run = subprocess.run([sys.executable, str(DEMO)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "OK: no credential crossed origins" in run.stdout
    assert "'verified': True" in run.stdout
    assert "'token': 'rotated-token'" in run.stdout  # the live store adapter
