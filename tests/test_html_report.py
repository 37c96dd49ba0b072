"""`almeval report --format html`: one self-contained file, checked in a real browser (Debian's chromium,
headless: the DOM after its script ran, and its console) — tables, plots, a drill-down with a playable
audio source and an image, no console errors, and model output shown as text."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
browser = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (CI installs Debian's chromium)")
INJECTED = "<script>window.hacked=1</script> no"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A store with an ASR and an MCQ benchmark (audio, judged by the local test server) for two models and
    an image benchmark whose replayed predictions include a script tag; the report written by the CLI."""
    import test_vlm as vlm
    from openai_server import FakeOpenAI

    from almeval.judges import JudgeOptions
    from almeval.runner import EvalOptions, evaluate

    root = tmp_path_factory.mktemp("html")
    work = root / "w"
    with FakeOpenAI() as srv:
        judge = JudgeOptions(judges=("gpt-4o-mini",), base_url=srv.base_url, timeout_s=5)
        for args in ({}, {"mode": "upper"}):
            evaluate(EvalOptions(model="fake", data=("demo", "demo-mqa"), work_dir=work, judge=judge, model_args=args))
    tsv = vlm.write_tsv(root / "MME.tsv", vlm.yn_rows())
    model = vlm.replay(root / "p.jsonl", {**vlm.YN_REPLIES, "1": INJECTED})
    evaluate(EvalOptions(model=model, data=(f"vlm:{tsv}",), work_dir=work))
    from almeval.store import Store

    fakes = [m.key for m in Store(work / "almeval.sqlite").models() if m.label == "fake"]
    out = root / "report.html"
    compare = ("--diff", fakes[0][:10], "--diff", fakes[1][:10])
    res = cli("report", "--format", "html", "--out", str(out), "--work-dir", str(work), *compare)
    assert res.returncode == 0, res.stderr
    return out


def _data(path: Path) -> dict:
    found = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', path.read_text(), re.S)
    assert found
    return json.loads(found.group(1))


def _chromium(url: str, *args: str) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0", *args, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_the_report_is_one_file_that_fetches_nothing_and_escapes_what_models_wrote(report):
    html = report.read_text()
    assert not re.search(r"""(src|href)=["']https?://""", html)  # no CDN, no remote asset
    assert "<script>window.hacked" not in html  # in the data block it is \u003cscript\u003e…
    data = _data(report)
    assert any(it["prediction"] == INJECTED for s in data["sets"] for it in s["items"])
    assert [g["group"] for g in data["leaderboard"]] == ["ASR", "Audio-to-text chat", "Image benchmarks (VLMEvalKit)"]
    assert (report.parent / "report-plots" / "plot-1.svg").is_file()  # plots also as files beside it


@browser
def test_a_real_browser_renders_tables_plots_and_a_drill_down_with_audio_and_no_console_errors(report):
    data = _data(report)
    demo = next(s for s in data["sets"] if s["dataset"] == "demo")
    first = demo["items"][0]["idx"]
    run = _chromium(f"file://{report}#open={demo['id']}:{first}", "--dump-dom")
    dom = run.stdout
    assert run.returncode == 0, run.stderr[-2000:]
    assert dom.count('<table class="leaderboard">') == 3
    assert dom.count("<svg") >= 3  # scores per benchmark, WER per subset, judge values
    assert dom.count('class="item"') == min(len(demo["items"]), data["page"])
    assert dom.count('class="detail"') == 1  # the drill-down opened by the URL
    assert re.search(r'<audio controls="" preload="none" src="data:audio/wav;base64,UklGR', dom)  # a RIFF WAV
    assert "Compare: fake@" in dom and "<td>demo</td><td>asr-default@2</td>" in dom  # the --diff section
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console


@browser
def test_model_output_is_shown_as_text_in_the_browser_never_run(report, tmp_path):
    data = _data(report)
    mme = next(s for s in data["sets"] if s["dataset"] == "vlm:MME")
    run = _chromium(f"file://{report}#open={mme['id']}:1", "--dump-dom")
    assert "&lt;script&gt;window.hacked=1&lt;/script&gt; no" in run.stdout  # the detail shows it as text
    assert '<img class="item-image" src="data:image/png;base64,' in run.stdout
    # a page that reports whether the injected script ran: load the report in a frame and read the flag
    probe = tmp_path / "probe.html"
    probe.write_text(
        f'<iframe id="f" src="file://{report}#open={mme["id"]}:1"></iframe><script>'
        "setTimeout(() => { document.title = 'hacked=' + String(document.getElementById('f').contentWindow.hacked); }"
        ", 1500);</script>"
    )
    seen = _chromium(f"file://{probe}", "--dump-dom", "--virtual-time-budget=3000", "--allow-file-access-from-files")
    assert "<title>hacked=undefined</title>" in seen.stdout, seen.stdout[:300]


@browser
def test_a_screenshot_of_the_report(report, tmp_path):
    shot = tmp_path / "report.png"
    run = _chromium(f"file://{report}", f"--screenshot={shot}", "--window-size=1280,1600")
    assert run.returncode == 0 and shot.stat().st_size > 10_000


def test_the_markdown_report_links_its_plots_written_as_svg_files_beside_it(report):
    work = report.parent / "w"
    out = report.parent / "summary.md"
    res = cli("report", "--out", str(out), "--work-dir", str(work))
    assert res.returncode == 0, res.stderr
    links = re.findall(r"!\[[^\]]+\]\(([^)]+\.svg)\)", out.read_text())
    assert links and all((out.parent / link).read_text().startswith("<svg") for link in links)
