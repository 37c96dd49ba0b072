"""`almeval export --format oaieval`: a model's openai/evals results as oaieval record logs, so tooling
that reads openai/evals logs (its log viewers, scripts over /tmp/evallogs) reads almeval's.

One JSONL file per eval, in oaieval's layout: a `spec` line (the eval's name, base eval and split from its
registry id, the completion function, the run config), then per sample the events oaieval records —
`sampling` (the messages sent, the reply), `match` for Match / Includes / FuzzyMatch (correct, expected,
picked), `metrics` for FuzzyMatch (accuracy, f1_score) and ModelBasedClassify (choice, score, metascore)
with the judge's own `sampling` before it — then the `final_report` line with the eval's metrics as
oaieval names them (proportions in 0-1, where almeval's tables give percentages). Sample ids are
`<base eval>.<split>.<line index>` as oaieval writes them. Everything comes from the store; nothing runs.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .datasets import oai
from .errors import ConfigError
from .judging import stored_sample
from .recipes import recipes_for
from .rules import ideals_of, picked_option
from .store import Store
from .values import Sample, Score

INVALID = "__invalid__"  # how oaieval names a reply it could not read as a choice


def export_oaieval(store: Store, model: str, datasets: Iterable[str], out: Path, judge: str = "") -> list[Path]:
    """Write `<out>/<eval>.jsonl` for each openai/evals eval of `model` (a key) in `datasets`."""
    out.mkdir(parents=True, exist_ok=True)
    label = store.display_names().get(model, model)
    written = []
    for dataset in datasets:
        path = out / f"{dataset[len(oai.PREFIX) :]}.jsonl"
        lines = _log(store, model, label, dataset, judge)
        path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
        written.append(path)
    return written


def _log(store: Store, model: str, label: str, dataset: str, judge: str) -> list[dict[str, Any]]:
    [info] = oai.select(dataset)
    reg = oai.registry()
    spec = reg.resolve(dataset[len(oai.PREFIX) :])
    base, _, rest = spec.id.partition(".")
    split = rest.split(".")[0] if rest else ""
    scores = [s for s in store.scores(model) if s.dataset == dataset and s.subset == ""]
    graded = reg.graded(spec) if spec.cls == oai.MODEL_GRADED else None  # resolved once, not per sample
    recipe = _judge_recipe(scores, judge, dataset) if graded else recipes_for(info)[0].id
    score = next((s for s in scores if s.recipe == recipe), None)
    if score is None:
        raise ConfigError(f"{label} has no {recipe} score on {dataset}: run `almeval eval` (and judge) first")
    now = str(datetime.datetime.now(datetime.UTC).replace(tzinfo=None))
    run = score.run_id
    head = {
        "spec": {
            "completion_fns": [label],
            "eval_name": spec.id,
            "base_eval": base,
            "split": split,
            "run_config": {
                "completion_fns": [label],
                "eval_spec": {"cls": spec.cls, "args": dict(spec.args), "key": spec.id, "group": spec.name},
                "almeval": {"model_key": model, "recipe": recipe, "complete": score.complete},
            },
            "created_by": "almeval",
            "run_id": run,
            "created_at": now,
        }
    }
    values = store.item_values(model, dataset, recipe)
    replies = store.verdict_rows(model, dataset, recipe.split(":", 1)[1]) if graded else {}
    events: list[dict[str, Any]] = []

    def event(kind: str, sample_id: str, data: dict[str, Any]) -> None:
        events.append(
            {
                "run_id": run,
                "event_id": len(events),
                "sample_id": sample_id,
                "type": kind,
                "data": data,
                "created_by": "almeval",
                "created_at": now,
            }
        )

    rows = sorted(store.stored_items(model, dataset), key=lambda r: int(r["idx"]) if r["idx"].isdigit() else 0)
    for row in rows:
        meta = json.loads(row["meta"] or "{}")
        sample_id = f"{base}.{split}.{row['idx']}"
        text = row["text"] or ""
        if row["pstatus"] != "ok":
            event("error", sample_id, {"type": "PredictionFailed", "message": text})
        else:
            event("sampling", sample_id, {"prompt": meta.get("input"), "sampled": [text], "model": label})
        item = values.get(row["idx"], {})
        if graded is not None:
            _graded_events(event, sample_id, graded, meta, text, item, replies.get(row["idx"], []))
        else:
            _match_events(event, sample_id, spec.cls, stored_sample(dataset, row), text, item)
    return [head, *events, {"final_report": _final_report(spec.cls, score), "run_id": run}]


def _judge_recipe(scores: list[Score], judge: str, dataset: str) -> str:
    found = sorted({s.recipe for s in scores if s.recipe.startswith("judge-default@")})
    if judge:
        found = [r for r in found if r.split(":", 1)[1] == judge]
    if len(found) != 1:
        judges = ", ".join(r.split(":", 1)[1] for r in found) or "none"
        raise ConfigError(f"{dataset}: export needs exactly one judge's scores (found: {judges}); pass --judge NAME")
    return found[0]


def _match_events(event: Any, sample_id: str, cls: str, sample: Sample, text: str, item: dict[str, Any]) -> None:
    ideals = ideals_of(sample)
    expected: Any = ideals[0] if len(ideals) == 1 else ideals
    correct = bool(item.get("correct"))
    if cls.endswith(":Match"):
        event("match", sample_id, {"correct": correct, "expected": expected, "picked": picked_option(text, ideals)})
    elif cls.endswith(":Includes"):
        event("match", sample_id, {"correct": correct, "expected": expected, "picked": text, "sampled": text})
    else:
        event("match", sample_id, {"correct": correct, "expected": ideals, "picked": [text] * correct})
        f1 = float(item.get("f1_micro") or 0) / 1_000_000
        event("metrics", sample_id, {"accuracy": float(correct), "f1_score": f1})


def _graded_events(
    event: Any,
    sample_id: str,
    graded: oai.Graded,
    meta: dict[str, Any],
    text: str,
    item: dict[str, Any],
    replies: list[dict[str, Any]],
) -> None:
    reply = next((r["reply"] for r in replies if r["sample_no"] == 0 and r["status"] == "ok"), None)
    if reply is not None:
        prompt = graded.messages(meta.get("row") or {}, text)
        event("sampling", sample_id, {"prompt": prompt, "sampled": [reply], "role": "judge"})
    if item.get("status") not in ("ok", "invalid"):
        return  # not judged (or the judge call failed): oaieval would have no metrics for it
    choice = item.get("label") or INVALID
    score = item.get("value")
    if score is None and choice == INVALID and graded.scores:
        score = min(graded.scores.values())
    metrics: dict[str, Any] = {"choice": choice, "score": score}
    if graded.metaeval and "oai_choice" in meta:
        metrics["metascore"] = choice == meta["oai_choice"]
    event("metrics", sample_id, metrics)


def _final_report(cls: str, score: Score) -> dict[str, Any]:
    v = score.values
    if cls == oai.MODEL_GRADED:
        out: dict[str, Any] = {f"counts/{INVALID if k == 'invalid' else k}": n for k, n in v.get("counts", {}).items()}
        if v.get("score") is not None:
            out["score"] = v["score"]
        if v.get("metascore") is not None:
            out["metascore"] = v["metascore"] / 100
        return out
    out = {"accuracy": v["acc"] / 100 if v.get("acc") is not None else None}
    if "f1_score" in v:
        out["f1_score"] = v["f1_score"] / 100
    return {**out, "almeval_ci95": v.get("ci95"), "n": v.get("n")}
