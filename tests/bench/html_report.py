"""The HTML report on a large store: time to write it and its size, for 100,000 items.

    python tests/bench/html_report.py [--items 100000]

One `almeval eval` with the fake model (echo, a few items wrong) on an N-item ASR manifest fills a fresh
store; then `almeval report --format html` runs as its own process and is timed as a whole (interpreter
start included). Prints seconds, the file's size and the items it holds; the goal is ≤ 10 s. When Debian's
chromium is on PATH it also loads the file headless and reports the seconds to the rendered DOM.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from helpers import fake_eval_cmd
from rerun import make_manifest

ITEM_ROW = 'class="item"'


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=100_000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        manifest = make_manifest(root / "data", a.items)
        env = {**os.environ, "ALMEVAL_CACHE_DIR": str(root / "cache")}
        wrong = ";".join(str(i) for i in range(0, a.items, 7))
        subprocess.run([*fake_eval_cmd(manifest, root / "w", "-a", f"wrong={wrong}")], check=True, env=env)
        out = root / "report.html"
        t0 = time.perf_counter()
        cmd = [
            sys.executable,
            "-m",
            "almeval",
            "report",
            "--format",
            "html",
            "--out",
            str(out),
            "--work-dir",
            str(root / "w"),
        ]
        subprocess.run(cmd, check=True, env=env, capture_output=True)
        seconds = time.perf_counter() - t0
        print(f"items: {a.items}")
        print(f"report --format html: {seconds:.2f} s (goal <= 10 s), {out.stat().st_size / 1e6:.1f} MB")
        chromium = shutil.which("chromium")
        if chromium:
            t0 = time.perf_counter()
            dom = subprocess.run(
                [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", f"file://{out}"],
                capture_output=True,
                text=True,
                timeout=300,
            ).stdout
            print(
                f"chromium headless, file to rendered DOM: {time.perf_counter() - t0:.2f} s; item rows on the page: "
                f"{dom.count(ITEM_ROW)} (one page of 50; the rest on demand)"
            )


if __name__ == "__main__":
    main()
