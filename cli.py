"""The `almeval` command (typer): a thin layer over the Python API (installed as almeval.cli).

Exit codes: 0 ok · 1 run finished but some items failed (recorded; a rerun retries them) ·
2 bad input or configuration · 3 interrupted · 4 store or cache damaged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from almeval.errors import AlmevalError, ConfigError, ExitCode, UnknownNameError
from almeval.values import HEADLINE, RecipeId

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Evaluate audio LLMs fast, exactly, and cheaply again."
)
data_app = typer.Typer(no_args_is_help=True, help="Datasets: list, check.")
models_app = typer.Typer(no_args_is_help=True, help="Models under test.")
reference_app = typer.Typer(no_args_is_help=True, help="Reference checkouts the compat recipes read (kimi).")
cache_app = typer.Typer(no_args_is_help=True, help="The disk cache and the result store.")
app.add_typer(data_app, name="data")
app.add_typer(models_app, name="models")
app.add_typer(cache_app, name="cache")
judges_app = typer.Typer(no_args_is_help=True, help="Judges and their templates.")
app.add_typer(judges_app, name="judges")
app.add_typer(reference_app, name="reference")

WorkDir = Annotated[Path, typer.Option("--work-dir", "-w", help="Where the SQLite store, runs/ and reports live.")]
CacheDir = Annotated[
    Path | None, typer.Option("--cache-dir", help="Disk cache (default $ALMEVAL_CACHE_DIR or the user cache dir).")
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="config.yaml (default $ALMEVAL_CONFIG or ./config.yaml).")
]
DEFAULT_WORK_DIR = Path("almeval-results")
OaiRegistry = Annotated[
    list[Path] | None,
    typer.Option("--oai-registry", help="An openai/evals registry folder (a fork's evals/registry/), repeatable."),
]


JudgeOpt = Annotated[
    list[str] | None,
    typer.Option("--judge", "-j", help="Judge model (repeat for a panel), e.g. gpt-4o-mini; OpenAI-compatible."),
]
JudgeUrl = Annotated[
    str,
    typer.Option(
        "--judge-base-url", help="OpenAI-compatible base URL (vLLM, SGLang, llama.cpp); else $OPENAI_BASE_URL."
    ),
]
JudgeConc = Annotated[int, typer.Option("--judge-concurrency", help="Concurrent judge calls per endpoint.", min=1)]
JudgeRpm = Annotated[float, typer.Option("--judge-rpm", help="Requests per minute allowed by the endpoint.")]
JudgeTpm = Annotated[float, typer.Option("--judge-tpm", help="Tokens per minute allowed by the endpoint.")]
JudgeTimeout = Annotated[float, typer.Option("--judge-timeout", help="Seconds before one judge call times out.")]
JudgeAttempts = Annotated[int, typer.Option("--judge-attempts", help="Tries per judge call (retries + 1).", min=1)]
MaxCost = Annotated[
    float | None,
    typer.Option("--max-cost", help="Hard cap in USD: each call's worst-case cost is reserved before it is sent."),
]
JudgePrice = Annotated[
    str,
    typer.Option("--judge-price", help="IN,OUT: USD per 1M input/output tokens, for a judge without a known price."),
]
Repair = Annotated[bool, typer.Option("--repair", help="Ask the judge once more when its reply cannot be parsed.")]
Structured = Annotated[
    bool | None,
    typer.Option(
        "--judge-structured/--judge-free-text",
        help="Ask for the verdict as JSON by schema (response_format) and read only its field; "
        "default: config.yaml JUDGE.structured, else free text.",
    ),
]
TemplateOpt = Annotated[
    list[str] | None, typer.Option("--template", help="DATASET=TEMPLATE_ID judge-template override (repeatable).")
]


@contextmanager
def _errors() -> Iterator[None]:
    from rich.console import Console

    try:
        yield
    except AlmevalError as exc:
        from rich.markup import escape  # an error may quote data with [brackets]: shown as text, never markup

        Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        Console(stderr=True).print("[yellow]interrupted[/]: everything recorded so far is kept; rerun to resume")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


@contextmanager
def _stdout_to_stderr(active: bool) -> Iterator[None]:
    """With --json, stdout carries one JSON document: whatever a dependency prints meanwhile (lm-eval
    announces NLTK downloads on import) goes to stderr."""
    if not active:
        yield
        return
    import sys
    from contextlib import redirect_stdout

    with redirect_stdout(sys.stderr):
        yield


def _split(values: list[str]) -> tuple[str, ...]:
    return tuple(v for raw in values for v in re.split(r"[,\s]+", raw) if v)


def _model_args(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--model-arg expects key=value, got {pair!r}")
        out[key.strip()] = value
    return out


@app.command("eval")
def eval_cmd(
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model name (see `almeval models list`), or replay:PATH.")
    ],
    data: Annotated[
        list[str],
        typer.Option("--data", "-d", help="all | asr | mqa | refqa | openqa | series | name | path.jsonl (repeatable)"),
    ] = ["all"],  # noqa: B006
    work_dir: WorkDir = DEFAULT_WORK_DIR,
    model_arg: Annotated[
        list[str] | None, typer.Option("--model-arg", "-a", help="Adapter option key=value (repeatable).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(help="Only the first N items of each dataset (recorded as partial).", min=1)
    ] = None,
    skip_judge: Annotated[bool, typer.Option("--skip-judge", help="Infer and score rule metrics only.")] = False,
    rehash: Annotated[
        bool, typer.Option("--rehash", help="Hash every audio file again (do not trust the digest memo).")
    ] = False,
    reference: Annotated[
        list[str] | None,
        typer.Option("--reference", help="NAME=PATH: a checkout of a reference (kimi) its compat recipes read."),
    ] = None,
    recipe: Annotated[
        str, typer.Option("--recipe", help="kimi: require the Kimi-Audio-Evalkit recipes (and so its checkout).")
    ] = "",
    oai_registry: OaiRegistry = None,
    verify_data: Annotated[
        bool,
        typer.Option("--verify-data", help="A VLMEvalKit TSV whose md5 differs from the published one is an error."),
    ] = False,
    config: ConfigOpt = None,
    cache_dir: CacheDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run summary as JSON on stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No plan table or progress bars.")] = False,
    judge: JudgeOpt = None,
    judge_base_url: JudgeUrl = "",
    judge_concurrency: JudgeConc = 32,
    judge_rpm: JudgeRpm = 500.0,
    judge_tpm: JudgeTpm = 200_000.0,
    judge_timeout: JudgeTimeout = 60.0,
    judge_attempts: JudgeAttempts = 8,
    max_cost: MaxCost = None,
    judge_price: JudgePrice = "",
    repair: Repair = False,
    template: TemplateOpt = None,
    judge_structured: Structured = None,
) -> None:
    """Run a model on datasets: plan, infer only what is missing, judge as predictions land, score, record."""
    from almeval.progress import Ui
    from almeval.runner import EvalOptions, evaluate

    with _errors():
        jopts = _judge_options(
            judge,
            judge_base_url,
            judge_concurrency,
            judge_rpm,
            judge_tpm,
            judge_timeout,
            judge_attempts,
            max_cost,
            repair,
            template,
            judge_price,
            judge_structured,
        )
        opts = EvalOptions(
            model=model,
            data=_split(data),
            model_args=_model_args(model_arg or []),
            work_dir=work_dir,
            cache_dir=cache_dir,
            config=config,
            limit=limit,
            skip_judge=skip_judge,
            rehash=rehash,
            judge=jopts,
            references=_model_args(reference or []),
            recipe=recipe,
            oai_registries=tuple(oai_registry or ()),
            verify_data=verify_data,
        )
        ui = Ui(quiet=quiet)
        with _stdout_to_stderr(as_json):
            summary = evaluate(opts, ui)
    if as_json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    typer.echo(_one_line(summary), err=True)
    # exit 1 when any item has no score: a failed inference, or a judged item without a verdict
    raise typer.Exit(int(ExitCode.ITEMS_FAILED if summary["failed"] or summary["unjudged"] else ExitCode.OK))


def _judge_options(
    judge, base_url, concurrency, rpm, tpm, timeout, attempts, max_cost, repair, template, price, structured
):
    from almeval.judges import JudgeOptions

    parts = [p.strip() for p in price.split(",")] if price else []
    try:
        prices = (float(parts[0]), float(parts[1])) if parts else None
    except (ValueError, IndexError):
        prices = None
    if parts and (prices is None or len(parts) != 2 or min(prices) < 0):
        raise ConfigError(f"--judge-price expects IN,OUT (USD per 1M tokens, e.g. 0.15,0.60), got {price!r}")

    return JudgeOptions(
        judges=_split(judge or []),
        base_url=base_url,
        concurrency=concurrency,
        rpm=rpm,
        tpm=tpm,
        timeout_s=timeout,
        max_attempts=attempts,
        max_cost=max_cost,
        price=prices,
        repair=repair,
        templates=_model_args(template or []),
        structured=structured,
    )


@app.command("judge")
def judge_cmd(
    judge: JudgeOpt = None,
    model: Annotated[list[str] | None, typer.Option("--model", "-m", help="Only these models' predictions.")] = None,
    data: Annotated[list[str] | None, typer.Option("--data", "-d", help="Only these datasets.")] = None,
    work_dir: WorkDir = DEFAULT_WORK_DIR,
    retry_errors: Annotated[bool, typer.Option("--retry-errors", help="Only items whose judge call failed.")] = False,
    config: ConfigOpt = None,
    cache_dir: CacheDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No judge plan line.")] = False,
    judge_base_url: JudgeUrl = "",
    judge_concurrency: JudgeConc = 32,
    judge_rpm: JudgeRpm = 500.0,
    judge_tpm: JudgeTpm = 200_000.0,
    judge_timeout: JudgeTimeout = 60.0,
    judge_attempts: JudgeAttempts = 8,
    max_cost: MaxCost = None,
    judge_price: JudgePrice = "",
    repair: Repair = False,
    template: TemplateOpt = None,
    judge_structured: Structured = None,
    oai_registry: OaiRegistry = None,
) -> None:
    """Judge stored predictions (no model under test is loaded); cached verdicts cost nothing."""
    from almeval.judging import JudgeRunOptions, judge_stored
    from almeval.progress import Ui
    from almeval.runner import new_run_id, versions

    with _errors():
        jopts = _judge_options(
            judge,
            judge_base_url,
            judge_concurrency,
            judge_rpm,
            judge_tpm,
            judge_timeout,
            judge_attempts,
            max_cost,
            repair,
            template,
            judge_price,
            judge_structured,
        )
        _existing_store(work_dir).close()
        opts = JudgeRunOptions(
            judge=jopts,
            work_dir=work_dir,
            models=_split(model or []),
            data=_split(data or []),
            cache_dir=cache_dir,
            config=config,
            retry_errors=retry_errors,
            versions=versions(),
            oai_registries=tuple(oai_registry or ()),
        )
        with _stdout_to_stderr(as_json):
            summary = judge_stored(opts, Ui(quiet=quiet), new_run_id())
    if as_json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    typer.echo(
        f"judged {summary['judged']} new, {summary['judge_cache_hits']} cached, "
        f"{summary['judge_errors']} errors, {summary['invalid']} invalid, ${summary['cost_usd']:.4f}, "
        f"{summary['wall_s']:.2f}s",
        err=True,
    )
    raise typer.Exit(int(ExitCode.ITEMS_FAILED if summary["judge_errors"] else ExitCode.OK))


def _one_line(s: dict) -> str:
    scores = "; ".join(
        f"{name} {v['metric'].upper()} {v[v['metric']]}{'%' if v['metric'] != 'score' else ''}"
        for name, d in s["datasets"].items()
        for rid, v in d["scores"].items()
        if RecipeId.parse(rid).family in HEADLINE
    )
    judged = (
        f", judged {s['judged']} new + {s['judge_cache_hits']} cached (${s['judge_cost_usd']:.4f}"
        + (f", {s['judge_429s']} rate-limit answers (429) waited out" if s.get("judge_429s") else "")
        + ")"
        if s["judged"] + s["judge_cache_hits"]
        else ""
    )
    unjudged = "; ".join(
        f"{name}: unjudged {d['unjudged']} of {d['items']}" for name, d in s["datasets"].items() if d.get("unjudged")
    )
    return (
        f"run {s['run_id']}: {s['items']} items, {s['inferred']} inferred, {s['inference_cache_hits']} cached, "
        f"{s['failed']} failed{judged}, model loaded: {'yes' if s['model_loaded'] else 'no'}, {s['wall_s']:.2f}s"
        + (f" — {scores}" if scores else "")
        + (
            f" — PARTIAL: {unjudged} (judge errors {s['judge_errors']}; rerun or `almeval judge --retry-errors`)"
            if unjudged
            else ""
        )
    )


@app.command("report")
def report_cmd(
    work_dir: WorkDir = DEFAULT_WORK_DIR,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the report here (default: stdout).")] = None,
    recipe: Annotated[str, typer.Option(help="Which recipes' numbers: default | kimi | all.")] = "default",
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="markdown | json (fields: README, Report) | html (needs --out).")
    ] = "markdown",
    diff: Annotated[
        list[str] | None,
        typer.Option("--diff", help="With --format html, twice: models A and B to compare (as `almeval diff`)."),
    ] = None,
) -> None:
    """Report of every stored score, with provenance: markdown tables, one JSON document, or one
    self-contained HTML page (plots, per-item drill-down with audio and images, runs, provenance)."""
    from almeval.report import as_json, render

    with _errors():
        if fmt not in ("markdown", "json", "html"):
            raise UnknownNameError("report format", fmt, ["markdown", "json", "html"])
        store = _existing_store(work_dir)
        if fmt == "html":
            from almeval.html_report import render_html

            if out is None:
                raise ConfigError("--format html writes a file: pass --out report.html")
            if diff and len(diff) != 2:
                raise ConfigError("--diff takes two models: --diff A --diff B")
            pair = (diff[0], diff[1]) if diff else None
            try:
                done = render_html(store, out, recipe, plots_dir=out.parent / f"{out.stem}-plots", diff=pair)
            finally:
                store.close()
            typer.echo(f"wrote {out} ({done['items']} items, {done['plots']} plots, {done['seconds']} s)", err=True)
            return
        text = render(store, recipe) if fmt == "markdown" else json.dumps(as_json(store, recipe), indent=2) + "\n"
        if out and fmt == "markdown":  # its plots as SVG files beside it, linked at the end
            from almeval.html_report import plot_files

            text += plot_files(store, out.parent / f"{out.stem}-plots", recipe, relative_to=out.parent)
    if out:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}", err=True)
    else:
        typer.echo(text, nl=False)


def _existing_store(work_dir: Path):
    from almeval.store import Store

    path = work_dir / "almeval.sqlite"
    if not path.is_file():
        raise ConfigError(f"no results in {work_dir} (expected {path}); run `almeval eval` first or pass --work-dir")
    return Store(path)


@data_app.command("list")
def data_list(
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the listing as JSON.")] = False,
    oai: Annotated[
        bool, typer.Option("--oai", help="List the openai/evals registries' evals and eval sets instead.")
    ] = False,
    oai_registry: OaiRegistry = None,
) -> None:
    """Every known dataset: task, subsets, how it is scored (rule recipes, judge template), prepared or not.
    With --oai: the evals and eval sets of the openai/evals registries (the installed package's, then
    --oai-registry folders)."""
    from almeval.config import load_config
    from almeval.datasets import Catalog
    from almeval.judges.templates import Wiring, load_templates
    from almeval.recipes import recipe_names

    if oai:
        from almeval.datasets.oai import Registry

        with _errors():
            listing = Registry.load(oai_registry or ()).listing()
        if as_json:
            typer.echo(json.dumps(listing, indent=2, ensure_ascii=False))
        else:
            for row in listing:
                if "eval_set" in row:
                    typer.echo(f"{'set ' + row['eval_set']:<40} {', '.join(row['evals'])}")
                else:
                    typer.echo(f"{row['eval']:<40} {row.get('class', row.get('error', ''))}")
        return
    with _errors():
        cfg = load_config(config)
        catalog = Catalog(cfg)
        wiring = Wiring.load(load_templates(), {}, catalog.all())
    rows = [
        {
            "dataset": d.name,
            "task": d.task,
            "input": "spoken question" if d.interactive == "Audio-QA" else "audio + text",
            "subsets": list(d.subsets),
            "lang": d.lang,
            "rules": recipe_names(d),
            "judge": wiring.describe(d.name, d.task),
            "prepared": bool(d.manifest),
        }
        for d in catalog.all()
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    _print_table(rows)


def _print_table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for col in rows[0]:
        table.add_column(col)
    for r in rows:
        cells = [
            ", ".join(v) if isinstance(v, list) else ("yes" if v is True else "no" if v is False else str(v))
            for v in r.values()
        ]
        table.add_row(*cells)
    console = Console()
    Console(width=max(console.width, 160)).print(table)


@data_app.command("check")
def data_check(
    name: Annotated[str, typer.Argument(help="Dataset name or manifest path.")],
    config: ConfigOpt = None,
    cache_dir: CacheDir = None,
) -> None:
    """List every problem in a dataset's manifest and audio at once."""
    from almeval.cache import AudioProbe, Memo
    from almeval.config import load_config
    from almeval.datasets import Catalog, check

    with _errors():
        info = Catalog(load_config(config)).select([name]).datasets[0]
        good, problems = check(info, AudioProbe(Memo(cache_dir)))
    for p in problems:
        typer.echo(str(p))
    typer.echo(f"{info.name}: {good} good item(s), {len(problems)} problem(s) in {info.manifest}", err=True)
    raise typer.Exit(int(ExitCode.USER_ERROR if problems else ExitCode.OK))


@data_app.command("prepare")
def data_prepare(
    name: Annotated[str, typer.Argument(help="Dataset, series, or `all` (see `almeval data list`).")],
    root: Annotated[Path, typer.Option("--root", help="Where prepared datasets live (DATASETS.dataset_root).")],
    source: Annotated[
        list[str] | None,
        typer.Option("--source", help="KEY=PATH_OR_URL (or SERIES.KEY=… with `all`) instead of the official source."),
    ] = None,
    allow_unverified: Annotated[
        bool,
        typer.Option(
            "--allow-unverified",
            help="Use downloads without a declared checksum (logged as unverified in the scores' provenance).",
        ),
    ] = False,
) -> None:
    """Download (streaming, resumable, checked against declared checksums) and build manifests under --root;
    skipped items are listed."""
    from almeval.preparing import prepare

    with _errors():
        results, failures = prepare(name, root.resolve(), _model_args(source or []), allow_unverified)
    typer.echo(json.dumps({"prepared": results, "failed": failures}, indent=2, ensure_ascii=False))
    typer.echo(f"use it: DATASETS.dataset_root: {root} in config.yaml, or ALMEVAL_DATASET_ROOT={root}", err=True)
    if failures:
        raise typer.Exit(int(ExitCode.USER_ERROR))


@reference_app.command("get")
def reference_get(
    name: Annotated[str, typer.Argument(help="kimi")],
    into: Annotated[Path, typer.Option("--into", help="An empty or new folder for the checkout.")],
    url: Annotated[str, typer.Option("--url", help="Clone from this mirror instead.")] = "",
    commit: Annotated[str, typer.Option("--commit", help="Check out this commit instead of the pinned one.")] = "",
) -> None:
    """Clone a reference at the commit almeval's compat recipes were measured against (needs git and network)."""
    from almeval import references

    with _errors():
        if name not in references.KNOWN:
            raise UnknownNameError("reference", name, references.KNOWN)
        ref = references.clone(name, into.resolve(), url, commit)
    typer.echo(json.dumps({"reference": name, "path": str(ref.path), "commit": ref.commit}))
    typer.echo(
        f"use it: --reference {name}={ref.path} (or REFERENCES: {{{name}: {ref.path}}} in config.yaml)", err=True
    )


@models_app.command("list")
def models_list() -> None:
    """Registered models and whether their optional dependencies are installed."""
    from importlib.util import find_spec

    with _errors():
        from almeval.adapters import MODELS

    for name in MODELS:
        meta = MODELS.meta(name)
        req = meta.get("requires")
        ok = not req or find_spec(req) is not None
        install = meta.get("install") or f"pip install 'almeval[{meta['extra']}]'"
        hint = "" if ok else f"  (unavailable: {install})"
        typer.echo(f"{name:<22} {meta.get('summary', '')}{hint}")


@app.command("diff")
def diff_cmd(
    a: Annotated[str, typer.Argument(help="Model A: label or key prefix (the baseline).")],
    b: Annotated[str, typer.Argument(help="Model B: label or key prefix (the change).")],
    work_dir: WorkDir = DEFAULT_WORK_DIR,
    data: Annotated[list[str] | None, typer.Option("--data", "-d", help="Only these benchmarks.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="markdown | json")] = "markdown",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write here (default: stdout).")] = None,
) -> None:
    """B against A on the same items: Δ per benchmark with a paired bootstrap CI, McNemar, changed items."""
    from almeval.diff import compare, markdown

    with _errors():
        if fmt not in ("markdown", "json"):
            raise UnknownNameError("diff format", fmt, ["markdown", "json"])
        store = _existing_store(work_dir)
        result = compare(store, a, b, _split(data or []))
    text = markdown(result) if fmt == "markdown" else json.dumps(result, indent=2) + "\n"
    if out:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}", err=True)
    else:
        typer.echo(text, nl=False)


@app.command("export")
def export_cmd(
    run: Annotated[str, typer.Argument(help="A run id (see `almeval runs`), or a model: label or key prefix.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the logs (one <eval>.jsonl per eval).")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="oaieval: openai/evals record logs.")] = "oaieval",
    data: Annotated[list[str] | None, typer.Option("--data", "-d", help="Only these evals (oai:NAME).")] = None,
    judge: Annotated[str, typer.Option("--judge", help="Whose verdicts, where several judges scored.")] = "",
    work_dir: WorkDir = DEFAULT_WORK_DIR,
    oai_registry: OaiRegistry = None,
) -> None:
    """A run's (or a model's) openai/evals results as oaieval record logs: spec, per-sample events, final report."""
    from almeval.datasets import oai
    from almeval.export import export_oaieval

    with _errors():
        if fmt != "oaieval":
            raise UnknownNameError("export format", fmt, ["oaieval"])
        oai.use_registries(oai_registry or ())
        store = _existing_store(work_dir)
        try:
            found = [r for r in store.runs() if r["run_id"] == run]
            if found:
                model, datasets = found[0]["model"], json.loads(found[0]["datasets"] or "[]")
            else:
                model = store.model(run).key
                datasets = sorted({d for m, d in store.scopes() if m == model})
            wanted = {d.lower() for d in _split(data or [])}
            chosen = [d for d in datasets if d.startswith(oai.PREFIX) and (not wanted or d.lower() in wanted)]
            if not chosen:
                raise ConfigError(
                    f"{run}: no openai/evals results to export (datasets: {', '.join(datasets) or 'none'})"
                )
            paths = export_oaieval(store, model, chosen, out, judge)
        finally:
            store.close()
    for path in paths:
        typer.echo(f"wrote {path}", err=True)


@app.command("runs")
def runs_cmd(
    work_dir: WorkDir = DEFAULT_WORK_DIR,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run history as JSON.")] = False,
) -> None:
    """The run history: id, model, datasets, status (running / done / failed / interrupted), counts, wall time."""
    from almeval.report import run_history

    with _errors():
        store = _existing_store(work_dir)
        store.reap(*_host_alive())  # a run whose process is gone shows as interrupted
        rows = run_history(store)
        store.close()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    elif rows:
        _print_table([{k: ", ".join(v) if isinstance(v, list) else str(v) for k, v in r.items()} for r in rows])
    else:
        typer.echo("no runs yet", err=True)


def _host_alive() -> tuple[str, Any]:
    import socket

    from almeval.runner import process_alive

    return socket.gethostname(), process_alive


@judges_app.command("list")
def judges_list(
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the listing as JSON.")] = False,
) -> None:
    """Known judges with their prices, and every judge template (id, parser, samples, what it judges)."""
    from almeval.config import load_config
    from almeval.judges import _prices, _template_dirs
    from almeval.judges.templates import load_templates

    with _errors():
        cfg = load_config(config)
        prices = _prices(cfg.raw)
        templates = load_templates(_template_dirs(cfg))
    judges: list[dict[str, Any]] = [
        {"judge": name, "kind": "OpenAI-compatible endpoint", "usd_per_1m_in_out": list(price)}
        for name, price in sorted(prices.items())
    ] + [
        {
            "judge": "smollm2",
            "kind": "local, constrained (demonstration only: SmolLM2-135M)",
            "usd_per_1m_in_out": [0, 0],
        },
        {"judge": "hf:DIR[#file.gguf]", "kind": "local transformers model, free text", "usd_per_1m_in_out": [0, 0]},
        {
            "judge": "hf-choose:DIR[#file.gguf]",
            "kind": "local, picks a verdict by log-probability",
            "usd_per_1m_in_out": [0, 0],
        },
        {
            "judge": "ANY --judge-base-url URL",
            "kind": "any model your endpoint serves (--judge-price for a cap)",
            "usd_per_1m_in_out": None,
        },
    ]
    rows = [
        {"template": t.id, "parse": t.parse, "samples": t.n, "description": t.description}
        for t in sorted(templates.values(), key=lambda t: t.id)
    ]
    if as_json:
        typer.echo(json.dumps({"judges": judges, "templates": rows}, indent=2, ensure_ascii=False))
        return
    for j in judges:
        price = j["usd_per_1m_in_out"]
        shown = f"${price[0]:g} / ${price[1]:g} per 1M tokens" if price else "price: --judge-price"
        typer.echo(f"{j['judge']:<28} {j['kind']:<58} {shown}")
    typer.echo("")
    _print_table([{k: str(v) for k, v in r.items()} for r in rows])


@cache_app.command("stats")
def cache_stats(cache_dir: CacheDir = None, work_dir: WorkDir = DEFAULT_WORK_DIR) -> None:
    """Entries and size of the disk cache; row counts of the store."""
    from almeval.cache import Memo

    with _errors():
        out = {"cache": Memo(cache_dir).stats()}
        if (work_dir / "almeval.sqlite").is_file():
            out["store"] = {"path": str(work_dir / "almeval.sqlite"), **_existing_store(work_dir).counts()}
    typer.echo(json.dumps(out, indent=2))


@cache_app.command("check")
def cache_check(
    cache_dir: CacheDir = None,
    work_dir: WorkDir = DEFAULT_WORK_DIR,
    fix: Annotated[bool, typer.Option("--fix", "--repair", help="Delete damaged or edited entries.")] = False,
) -> None:
    """Integrity of the disk cache and (if present) the store."""
    from almeval.cache import Memo

    with _errors():
        problems = [f"cache: {w}" for w in Memo(cache_dir).check(fix=fix)]
        if (work_dir / "almeval.sqlite").is_file():
            problems += [f"store: {p}" for p in _existing_store(work_dir).check()]
    for p in problems:
        typer.echo(p)
    typer.echo("ok" if not problems else f"{len(problems)} problem(s)", err=True)
    raise typer.Exit(int(ExitCode.STORE_ERROR if problems else ExitCode.OK))


@cache_app.command("prune")
def cache_prune(
    older_than: Annotated[str, typer.Option(help="Age like 30d, 12h, 90m.")] = "30d",
    kind: Annotated[str | None, typer.Option(help="Only this kind: pred, audio, judge.")] = None,
    cache_dir: CacheDir = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Instead: remove this model's results from the store.")
    ] = None,
    data: Annotated[list[str] | None, typer.Option("--data", "-d", help="With --model: only these datasets.")] = None,
    work_dir: WorkDir = DEFAULT_WORK_DIR,
) -> None:
    """Delete disk-cache entries older than the given age (the store, and so every score, is untouched);
    with --model, remove that model's stored results (items, scores, judge links) instead."""
    from almeval.cache import Memo

    with _errors():
        if model:
            store = _existing_store(work_dir)
            chosen = store.model(model)
            removed = store.forget(chosen.key, _split(data or []))
            typer.echo(f"removed {removed} stored row(s) of {chosen.short}")
            return
        seconds = _age(older_than)
        n = Memo(cache_dir).prune(seconds, kind)
    typer.echo(f"pruned {n} entr{'y' if n == 1 else 'ies'}")


def _age(text: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([dhms])", text.strip())
    if not m:
        raise ConfigError(f"--older-than expects a number and d/h/m/s, like 30d; got {text!r}")
    return float(m.group(1)) * {"d": 86400, "h": 3600, "m": 60, "s": 1}[m.group(2)]


def main() -> None:
    app()


if __name__ == "__main__":
    main()
