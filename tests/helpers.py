"""Shared by the tests and the benchmarks in tests/bench/ (which put tests/ on sys.path)."""

from __future__ import annotations

import sys
from pathlib import Path


def fake_eval_cmd(manifest: Path, work: Path, *args: str) -> list[str]:
    """The command line of `almeval eval` with the fake model on one manifest, quiet, plus `args`."""
    return [sys.executable, "-m", "almeval", "eval", "--model", "fake", "--data", str(manifest),
            "--work-dir", str(work), "-q", *args]  # fmt: skip
