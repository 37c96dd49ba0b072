"""The SQLite result store (C7): the record that reports read.

Tables (all upserted by key, written in small transactions as items land, WAL mode):
  runs         run_id → model, datasets, status, options and summary (JSON)
  samples      (dataset, idx) → subset, question, answer, audio digests, media files
  predictions  key (content key, C1) → text, status, error, latency, adapter identity
  items        (model, dataset, idx) → pred_key: which prediction answers this item now
  item_scores  (model, dataset, idx, recipe) → metric_key, per-item values (e.g. edit counts)
  judgments    key (judge content key) → raw reply, status, model as the API returned it, token usage
  item_judgments (model, dataset, idx, judge, sample_no) → judgment_key (+ repair_key): the item's verdict now
  scores       (model, dataset, subset, recipe) → aggregate values, coverage, provenance
  claims       key → owner (host:pid:run): which process is inferring a key now (one process per GPU)
  models       key → label, identity: every `model` column holds a model key (C12), never a label
  manifests    dataset → the item indices of the manifest in force: scores count only these (C12)

kill -9 at any moment loses at most the batch in flight; a rerun upserts, so no row is duplicated.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .cache.keys import canonical_json
from .errors import ConfigError, StoreError
from .values import Agreement, Coverage, ItemScore, Judgment, ModelId, Prediction, Request, Sample, Score, Verdict

# sqlite-utils imports pandas (and with it pyarrow) whenever pandas is installed, only to map DataFrame
# types almeval never writes: ~70 MB of memory and a quarter second at every start once the `prepare`
# extra has brought pandas in. Import it with pandas hidden (its own fallback for a missing pandas);
# pandas itself stays importable for whoever needs it later.
_HIDE_PANDAS = "pandas" not in sys.modules and "sqlite_utils" not in sys.modules
if _HIDE_PANDAS:
    sys.modules["pandas"] = None  # type: ignore[assignment]
try:
    import sqlite_utils
finally:
    if _HIDE_PANDAS:
        del sys.modules["pandas"]

SCHEMA: dict[str, tuple[dict[str, Any], str | tuple[str, ...]]] = {
    "runs": (
        {
            "run_id": str,
            "model": str,
            "datasets": str,
            "status": str,
            "started": float,
            "finished": float,
            "options": str,
            "summary": str,
            "owner": str,  # host:pid:run_id — the lease: a run whose process is gone is shown as interrupted
            "heartbeat": float,  # refreshed as results land; a stale one (another host) also means interrupted
        },
        "run_id",
    ),
    "samples": (
        {
            "dataset": str,
            "idx": str,
            "subset": str,
            "question": str,
            "answer": str,
            "audio": str,
            "audio_content": str,
            "task": str,
            "lang": str,
            "meta": str,
            "media": str,  # [{kind, path, sha256}]: its audio and image files (HTML report players)
        },
        ("dataset", "idx"),
    ),
    "predictions": (
        {
            "key": str,
            "text": str,
            "status": str,
            "error": str,
            "latency_s": float,
            "adapter": str,
            "params": str,  # the effective generation params (seed included), canonical JSON
            "run_id": str,
            "created": float,
        },
        "key",
    ),
    "items": (
        {
            "model": str,
            "dataset": str,
            "idx": str,
            "subset": str,
            "pred_key": str,
            "status": str,
            "run_id": str,
            "updated": float,
        },
        ("model", "dataset", "idx"),
    ),
    "item_scores": (
        {"model": str, "dataset": str, "idx": str, "recipe": str, "subset": str, "metric_key": str, "values_json": str},
        ("model", "dataset", "idx", "recipe"),
    ),
    "judgments": (
        {
            "key": str,
            "judge": str,
            "model_returned": str,
            "template": str,
            "template_digest": str,
            "reply": str,
            "status": str,
            "error": str,
            "prompt_tokens": int,
            "completion_tokens": int,
            "attempts": int,
            "run_id": str,
            "created": float,
        },
        "key",
    ),
    "item_judgments": (
        {
            "model": str,
            "dataset": str,
            "idx": str,
            "judge": str,
            "sample_no": int,
            "subset": str,
            "template": str,
            "judgment_key": str,
            "repair_key": str,
            "pred_key": str,
            "status": str,
            "run_id": str,
            "updated": float,
        },
        ("model", "dataset", "idx", "judge", "sample_no"),
    ),
    "coverage": (
        {
            "model": str,
            "dataset": str,
            "task": str,
            "size": int,
            "items": int,
            "provenance": str,
            "run_id": str,
            "updated": float,
        },
        ("model", "dataset"),
    ),
    "agreements": (
        {
            "model": str,
            "dataset": str,
            "judges": str,
            "items": int,
            "agreement": float,
            "kappa": float,
            "updated": float,
        },
        ("model", "dataset", "judges"),
    ),
    "claims": ({"key": str, "owner": str, "claimed": float}, "key"),
    "models": ({"key": str, "label": str, "identity": str, "first_run": str, "updated": float}, "key"),
    "manifests": ({"dataset": str, "size": int, "digest": str, "indices": str, "updated": float}, "dataset"),
    "scores": (
        {
            "model": str,
            "dataset": str,
            "subset": str,
            "recipe": str,
            "values_json": str,
            "n": int,
            "dataset_size": int,
            "complete": int,
            "run_id": str,
            "provenance": str,
            "updated": float,
        },
        ("model", "dataset", "subset", "recipe"),
    ),
}
JUDGMENT_FIELDS = tuple(f.name for f in dataclasses.fields(Judgment))  # the judgments columns but `created`
CHUNK = 900  # below SQLite's bound-parameter limit
_SORTED = json.JSONEncoder(sort_keys=True)  # json.dumps(..., sort_keys=True) without an encoder built per row
STORE_VERSION = 5  # PRAGMA user_version; bump when SCHEMA changes (and say in MIGRATIONS how to upgrade)
MODEL_TABLES = ("items", "item_scores", "item_judgments", "coverage", "agreements", "scores", "runs")


def _labels_to_keys(db: sqlite_utils.Database) -> None:
    """Format 2 keyed results by label. Each old label becomes the model `legacy-<label>` (its identity
    taken from the coverage provenance it recorded); a rerun of that model files its results under its
    real key, and the content-keyed predictions and judgments make that rerun cheap."""
    db.table("models").create(SCHEMA["models"][0], pk="key", if_not_exists=True)
    labels = {
        label
        for table in MODEL_TABLES
        if db.table(table).exists()
        for (label,) in db.execute(f"SELECT DISTINCT model FROM {table}").fetchall()
    }
    for label in sorted(labels):
        prov = db.execute("SELECT provenance FROM coverage WHERE model = ? LIMIT 1", [label]).fetchone()
        identity = json.loads(prov[0] or "{}").get("adapter", {}) if prov else {}
        db.table("models").upsert(
            {
                "key": f"legacy-{label}",
                "label": label,
                "identity": json.dumps(identity, sort_keys=True),
                "first_run": "",
                "updated": time.time(),
            },
            pk="key",
        )
    for table in MODEL_TABLES:
        if db.table(table).exists():
            db.execute(f"UPDATE {table} SET model = 'legacy-' || model")


# from format N to N + 1: SQL statements, or a function of the database
MIGRATIONS: dict[int, list[str | Callable[[sqlite_utils.Database], None]]] = {
    1: ["ALTER TABLE predictions ADD COLUMN params TEXT"],
    2: [_labels_to_keys],
    3: [lambda db: _add_columns(db, "runs", {"owner": str, "heartbeat": float})],
    4: [lambda db: _add_columns(db, "samples", {"media": str})],
}


def _add_columns(db: sqlite_utils.Database, table: str, columns: dict[str, type]) -> None:
    """Columns a newer format adds to an existing table (a table not there yet is created whole)."""
    if db.table(table).exists():
        have = {c.name for c in db.table(table).columns}
        for name, kind in columns.items():
            if name not in have:
                db.table(table).add_column(name, kind)


class Store:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.parent.exists() and not self.path.parent.is_dir():
            raise ConfigError(f"the work dir {self.path.parent} is a file, not a folder: pass another --work-dir")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite_utils.Database(str(self.path))
            self._db.execute("PRAGMA busy_timeout=60000")  # several processes (one per GPU) share a store
            self._open()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a usable almeval store ({exc}); move it away to start afresh") from exc

    def _open(self, patience_s: float = 30.0) -> None:
        """WAL mode, then the schema. Switching a new file to WAL needs a moment alone with it, and SQLite
        does not wait for that (busy_timeout does not cover it): processes starting together on one new
        store retry here instead of failing with "database is locked"."""
        deadline = time.monotonic() + patience_s
        for attempt in range(1, 10_000):
            try:
                self._db.enable_wal()
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._create()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(min(0.01 * attempt, 0.2))

    def _create(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, STORE_VERSION, *MIGRATIONS):
            raise StoreError(
                f"{self.path} has store format {version}, this almeval writes {STORE_VERSION}; "
                "use a new --work-dir (the disk cache still makes the rerun cheap)"
            )
        with self._tx():  # concurrent first runs (one per GPU) race to create the schema
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            for step in range(version, STORE_VERSION) if version else ():
                for change in MIGRATIONS[step]:
                    if isinstance(change, str):
                        self._db.execute(change)
                    else:
                        change(self._db)
            for name, (columns, pk) in SCHEMA.items():
                self._db.table(name).create(columns, pk=pk, if_not_exists=True)
            self._db.execute(f"PRAGMA user_version={STORE_VERSION}")
            self._db.table("items").create_index(["pred_key"], index_name="items_by_pred", if_not_exists=True)

    @contextmanager
    def _tx(self) -> Iterator[None]:
        """A write transaction that takes the write lock up front (BEGIN IMMEDIATE): with several
        processes on one store, a deferred transaction that must upgrade fails at once with "database
        is locked" instead of waiting out busy_timeout."""
        if self._db.conn.in_transaction:
            yield
            return
        self._db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.conn.rollback()
            raise
        self._db.conn.execute("COMMIT")

    # writes -----------------------------------------------------------------------------------
    def _upsert(self, table: str, rows: Sequence[dict[str, Any]]) -> None:
        self._write({table: rows})

    def _write(self, batches: Mapping[str, Sequence[dict[str, Any]]]) -> None:
        """Several tables in one transaction: an item and its prediction land together or not at all."""
        try:
            with self._tx():
                for table, rows in batches.items():
                    _upsert_rows(self._db.conn, table, rows)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: write failed ({exc})") from exc

    def record(
        self,
        model: str,
        run_id: str,
        adapter: Mapping[str, Any],
        predictions: Sequence[tuple[Request, Prediction]],
        items: Sequence[tuple[Sample, Prediction]],
        item_scores: Sequence[ItemScore] = (),
    ) -> None:
        """One transaction: the predictions made (each with its request's effective params and the adapter's
        identity), the samples the items are about (what `almeval judge` needs later), the model's items
        pointing at their current prediction, and rule recipes' per-item values."""
        now = time.time()
        identity = canonical_json(dict(adapter))
        encoded: dict[int, str] = {}  # requests share their params mapping: each encoded once

        def params_json(params: Mapping[str, Any]) -> str:
            if id(params) not in encoded:
                encoded[id(params)] = canonical_json(dict(params))
            return encoded[id(params)]

        preds = [
            {
                "key": p.key,
                "text": p.text,
                "status": p.status,
                "error": p.error,
                "latency_s": p.latency_s,
                "adapter": identity,
                "params": params_json(r.params),
                "run_id": run_id,
                "created": now,
            }
            for r, p in predictions
        ]
        samples = [
            {
                "dataset": s.dataset,
                "idx": s.index,
                "subset": s.subset,
                "question": s.question,
                "answer": s.answer,
                "audio": _hex_list([a.sha256 for a in s.audio]),
                "audio_content": s.audio_content,
                "task": s.task,
                "lang": s.lang,
                "meta": canonical_json(dict(s.meta)) if s.meta else "{}",
                "media": canonical_json(
                    [{"kind": "audio", "path": a.path, "sha256": a.sha256} for a in s.audio]
                    + [{"kind": "image", "path": i.path, "sha256": i.sha256, "mime": i.mime} for i in s.images]
                ),
            }
            for s, _ in items
        ]
        links = [
            {
                "model": model,
                "dataset": s.dataset,
                "idx": s.index,
                "subset": s.subset,
                "pred_key": p.key,
                "status": p.status,
                "run_id": run_id,
                "updated": now,
            }
            for s, p in items
        ]
        self._write(
            {
                "predictions": preds,
                "samples": samples,
                "items": links,
                "item_scores": _item_rows(item_scores),
            }
        )

    def put_scores(
        self,
        item_scores: Sequence[ItemScore],
        scores: Sequence[Score],
        agreements: Sequence[Agreement] = (),
    ) -> None:
        """Per-item values, aggregates and panel agreements, in one transaction."""
        now = time.time()
        rows = [
            {
                "model": s.model,
                "dataset": s.dataset,
                "subset": s.subset,
                "recipe": s.recipe,
                "values_json": _SORTED.encode(dict(s.values)),
                "n": s.n,
                "dataset_size": s.size,
                "complete": int(s.complete),
                "run_id": s.run_id,
                "provenance": json.dumps(dict(s.provenance), sort_keys=True),
                "updated": now,
            }
            for s in scores
        ]
        agree = [
            {
                "model": a.model,
                "dataset": a.dataset,
                "judges": " vs ".join(a.judges),
                "items": a.items,
                "agreement": a.agreement,
                "kappa": a.kappa,
                "updated": now,
            }
            for a in agreements
        ]
        self._write({"item_scores": _item_rows(item_scores), "scores": rows, "agreements": agree})

    def put_judgments(self, judgments: Sequence[Judgment], verdicts: Sequence[Verdict]) -> None:
        """Judge replies and the item links to them, in one transaction. An error never overwrites an ok
        reply stored for the same key (by this batch or before)."""
        now = time.time()
        ok = {j.key for j in judgments if j.status == "ok"}
        failed = [j.key for j in judgments if j.status != "ok" and j.key not in ok]
        ok |= {k for k, j in self.judgments(failed).items() if j.status == "ok"}
        rows = [
            {**{f: getattr(j, f) for f in JUDGMENT_FIELDS}, "created": now}
            for j in judgments
            if j.status == "ok" or j.key not in ok
        ]
        links = [
            {
                "model": v.model,
                "dataset": v.dataset,
                "idx": v.index,
                "judge": v.judge,
                "sample_no": v.sample_no,
                "subset": v.subset,
                "template": v.template,
                "judgment_key": v.judgment_key,
                "repair_key": v.repair_key,
                "pred_key": v.pred_key,
                "status": v.status,
                "run_id": v.run_id,
                "updated": now,
            }
            for v in verdicts
        ]
        self._write({"judgments": rows, "item_judgments": links})

    def put_coverage(self, coverage: Sequence[Coverage]) -> None:
        now = time.time()
        rows = [
            {
                "model": c.model,
                "dataset": c.dataset,
                "task": c.task,
                "size": c.size,
                "items": c.items,
                "provenance": json.dumps(dict(c.provenance), sort_keys=True),
                "run_id": c.run_id,
                "updated": now,
            }
            for c in coverage
        ]
        self._write({"coverage": rows})

    def start_run(self, run_id: str, model: str, datasets: list[str], options: dict[str, Any], owner: str = "") -> None:
        self._upsert(
            "runs",
            [
                {
                    "run_id": run_id,
                    "model": model,
                    "datasets": json.dumps(datasets),
                    "status": "running",
                    "started": time.time(),
                    "finished": 0.0,
                    "options": json.dumps(options, sort_keys=True),
                    "summary": "{}",
                    "owner": owner,
                    "heartbeat": time.time(),
                }
            ],
        )

    def beat(self, run_id: str) -> None:
        """Renew a running run's lease."""
        with self._tx():
            self._db.execute("UPDATE runs SET heartbeat = ? WHERE run_id = ?", [time.time(), run_id])

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        with self._tx():
            self._db.execute(
                "UPDATE runs SET status=?, finished=?, summary=? WHERE run_id=?",
                [status, time.time(), json.dumps(summary, sort_keys=True), run_id],
            )

    # reads ------------------------------------------------------------------------------------
    def predictions(self, keys: Iterable[str]) -> dict[str, Prediction]:
        out = {}
        for chunk in _chunks(list(keys)):
            q = f"SELECT key, text, status, error FROM predictions WHERE key IN ({','.join('?' * len(chunk))})"
            for key, text, status, error in self._db.execute(q, chunk).fetchall():
                out[key] = Prediction(key, text, status=status, error=error, source="store")
        return out

    def items(self, model: str, dataset: str) -> dict[str, str]:
        rows = self._db.execute("SELECT idx, pred_key FROM items WHERE model=? AND dataset=?", [model, dataset])
        return dict(rows.fetchall())

    def item_scores(self, model: str, dataset: str, recipe: str) -> dict[str, tuple[str, str]]:
        q = "SELECT idx, metric_key, values_json FROM item_scores WHERE model=? AND dataset=? AND recipe=?"
        return {i: (k, v) for i, k, v in self._db.execute(q, [model, dataset, recipe]).fetchall()}

    def judgments(self, keys: Iterable[str]) -> dict[str, Judgment]:
        out = {}
        cols = ", ".join(JUDGMENT_FIELDS)
        for chunk in _chunks(list(keys)):
            q = f"SELECT {cols} FROM judgments WHERE key IN ({','.join('?' * len(chunk))})"
            out.update({row["key"]: Judgment(**row) for row in self._db.query(q, chunk)})
        return out

    def score_values(self, model: str, dataset: str) -> dict[tuple[str, str], dict[str, Any]]:
        """(subset, recipe) → the stored aggregate values of one model on one dataset."""
        q = "SELECT subset, recipe, values_json FROM scores WHERE model = ? AND dataset = ?"
        return {(s, r): json.loads(v) for s, r, v in self._db.execute(q, [model, dataset]).fetchall()}

    def scores(self, model: str | None = None) -> list[Score]:
        where, args = ("WHERE model = ?", [model]) if model is not None else ("", [])
        q = (
            "SELECT model, dataset, subset, recipe, values_json, n, dataset_size, complete, provenance, run_id "
            f"FROM scores {where} ORDER BY model, dataset, recipe, subset"
        )
        return [
            Score(m, d, sub, rid, json.loads(vals), n, size, bool(done), json.loads(prov or "{}"), run)
            for m, d, sub, rid, vals, n, size, done, prov, run in self._db.execute(q, args).fetchall()
        ]

    def item_values(self, model: str, dataset: str, recipe: str) -> dict[str, dict[str, Any]]:
        """idx → the per-item values a recipe stored for a model on a dataset (decoded `item_scores`)."""
        return {i: json.loads(v) for i, (_, v) in self.item_scores(model, dataset, recipe).items()}

    def runs(self) -> list[dict[str, Any]]:
        return list(self._db.query("SELECT * FROM runs ORDER BY started"))

    def counts(self) -> dict[str, int]:
        return {name: self._db.table(name).count for name in SCHEMA}

    def check(self) -> list[str]:
        """Integrity problems (empty list = healthy): SQLite's own check plus almeval's invariants."""
        problems = [r[0] for r in self._db.execute("PRAGMA integrity_check").fetchall() if r[0] != "ok"]
        dangling = self._db.execute(
            "SELECT count(*) FROM items i LEFT JOIN predictions p ON p.key = i.pred_key WHERE p.key IS NULL"
        ).fetchone()[0]
        if dangling:
            problems.append(f"{dangling} item(s) point to a missing prediction")
        for table, (_, pk) in SCHEMA.items():
            cols = ", ".join([pk] if isinstance(pk, str) else pk)
            dup = self._db.execute(
                f"SELECT count(*) FROM (SELECT {cols} FROM {table} GROUP BY {cols} HAVING count(*) > 1)"
            ).fetchone()[0]
            if dup:
                problems.append(f"{table}: {dup} duplicated key(s)")
        return problems

    # models (C12) ------------------------------------------------------------------------------
    def add_model(self, model: ModelId, identity: Mapping[str, Any], run_id: str) -> None:
        """Record a model key and its label (a later label for the same key replaces the shown one)."""
        with self._tx():
            self._db.conn.execute(
                "INSERT INTO models (key, label, identity, first_run, updated) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET label = excluded.label, updated = excluded.updated",
                [model.key, model.label, json.dumps(dict(identity), sort_keys=True, default=str), run_id, time.time()],
            )

    def models(self) -> list[ModelId]:
        return [ModelId(k, lab) for k, lab in self._db.execute("SELECT key, label FROM models ORDER BY label, key")]

    def find_models(self, text: str) -> list[ModelId]:
        """`--model X`: the models labelled X (case-insensitive), else those whose key starts with X."""
        known = self.models()
        by_label = [m for m in known if m.label.lower() == text.lower()]
        return by_label or [m for m in known if m.key.startswith(text.lower())]

    def model(self, text: str) -> ModelId:
        """Exactly one stored model by label or key prefix; an ambiguous or unknown one is an error that
        lists the stored models."""
        found = self.find_models(text)
        if len(found) != 1:
            known = ", ".join(f"{m.label} (key {m.key})" for m in self.models()) or "none"
            raise ConfigError(f"{text!r} names {len(found)} stored models; give a label or key prefix of one: {known}")
        return found[0]

    def display_names(self) -> dict[str, str]:
        """key → what reports show: the label, or `label@key8` where two keys share a label."""
        known = self.models()
        counts: dict[str, int] = {}
        for m in known:
            counts[m.label] = counts.get(m.label, 0) + 1
        return {m.key: m.short if counts[m.label] > 1 else m.label for m in known}

    def forget(self, model: str, datasets: Sequence[str] = ()) -> int:
        """Remove a model's results (all datasets, or these): items, item scores, judge links, scores,
        coverage, agreements. Predictions and judgments stay (content-keyed, shared, and they make a rerun
        cheap). Returns the rows removed."""
        tables = ("items", "item_scores", "item_judgments", "scores", "coverage", "agreements")
        where = "model = ?" + (f" AND dataset IN ({','.join('?' * len(datasets))})" if datasets else "")
        removed = 0
        with self._tx():
            for table in tables:
                removed += self._db.execute(f"DELETE FROM {table} WHERE {where}", [model, *datasets]).rowcount
            if not datasets:
                self._db.execute("DELETE FROM models WHERE key = ?", [model])
        return removed

    # the manifest in force (C12) -----------------------------------------------------------------
    def set_manifest(self, dataset: str, indices: Sequence[str], digest: str) -> None:
        """Remember which items the dataset's manifest holds now; written only when it changed."""
        row = self._db.execute("SELECT digest FROM manifests WHERE dataset = ?", [dataset]).fetchone()
        if row is not None and row[0] == digest:
            return
        self._upsert(
            "manifests",
            [
                {
                    "dataset": dataset,
                    "size": len(indices),
                    "digest": digest,
                    "indices": json.dumps(list(indices)),
                    "updated": time.time(),
                }
            ],
        )

    def manifest(self, dataset: str) -> set[str] | None:
        """The indices of the manifest in force (None: never recorded, e.g. a store from before format 3)."""
        row = self._db.execute("SELECT indices FROM manifests WHERE dataset = ?", [dataset]).fetchone()
        return set(json.loads(row[0])) if row else None

    def outside_manifest(self) -> list[tuple[str, str, int]]:
        """(model, dataset, n): stored items that the manifest in force no longer holds (kept, not scored)."""
        out = []
        for dataset, indices in self._db.execute("SELECT dataset, indices FROM manifests").fetchall():
            current = set(json.loads(indices))
            per_model: dict[str, int] = {}
            for model, idx in self._db.execute("SELECT model, idx FROM items WHERE dataset = ?", [dataset]):
                if idx not in current:
                    per_model[model] = per_model.get(model, 0) + 1
            out += [(m, dataset, n) for m, n in sorted(per_model.items())]
        return out

    # what `almeval judge` and the report read ---------------------------------------------------------
    def scopes(self) -> list[tuple[str, str]]:
        """(model key, dataset) pairs that have stored predictions."""
        return [tuple(r) for r in self._db.execute("SELECT DISTINCT model, dataset FROM items ORDER BY model, dataset")]

    def stored_items(self, model: str, dataset: str) -> list[dict[str, Any]]:
        """The item rows (sample fields + its current prediction's key, text and status) of a model on a dataset."""
        q = """SELECT s.*, p.key AS pkey, p.text, p.status AS pstatus, p.latency_s, p.run_id AS prun FROM items i
               JOIN samples s ON s.dataset = i.dataset AND s.idx = i.idx
               JOIN predictions p ON p.key = i.pred_key WHERE i.model = ? AND i.dataset = ? ORDER BY i.idx"""
        return list(self._db.query(q, [model, dataset]))

    def judge_errors(self, model: str, dataset: str) -> set[str]:
        """Indices whose last judge call failed (for `almeval judge --retry-errors`)."""
        q = "SELECT DISTINCT idx FROM item_judgments WHERE model = ? AND dataset = ? AND status = 'error'"
        return {i for (i,) in self._db.execute(q, [model, dataset]).fetchall()}

    def coverage(self, model: str, dataset: str) -> tuple[int, dict[str, Any]] | None:
        """The dataset's size and the model's provenance as the eval that made the predictions recorded them."""
        q = "SELECT size, provenance FROM coverage WHERE model = ? AND dataset = ?"
        row = self._db.execute(q, [model, dataset]).fetchone()
        return (int(row[0]), json.loads(row[1] or "{}")) if row else None

    def dataset_tasks(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT dataset, task FROM coverage").fetchall())

    def verdict_rows(self, model: str, dataset: str, judge: str) -> dict[str, list[dict[str, Any]]]:
        """idx → the judge's rows (sample_no, template, status, reply, repair reply, model returned, the
        prediction judged) for the item's current prediction only."""
        q = """SELECT ij.idx, ij.sample_no, ij.template, ij.status, j.reply, j.model_returned, r.reply AS repair,
                      p.text AS prediction
               FROM items i JOIN item_judgments ij ON ij.model = i.model AND ij.dataset = i.dataset
                    AND ij.idx = i.idx AND ij.pred_key = i.pred_key
               LEFT JOIN predictions p ON p.key = i.pred_key
               LEFT JOIN judgments j ON j.key = ij.judgment_key LEFT JOIN judgments r ON r.key = ij.repair_key
               WHERE i.model = ? AND i.dataset = ? AND ij.judge = ?"""
        out: dict[str, list[dict[str, Any]]] = {}
        for row in self._db.query(q, [model, dataset, judge]):
            out.setdefault(row["idx"], []).append(row)
        return out

    def agreement_rows(self) -> list[tuple[str, str, str, int, float, float | None]]:
        q = "SELECT model, dataset, judges, items, agreement, kappa FROM agreements ORDER BY model, dataset, judges"
        return [tuple(r) for r in self._db.execute(q).fetchall()]

    def unscored(self) -> list[tuple[str, str, int]]:
        """(model, dataset, n stored items) for model/dataset pairs with predictions but no score yet."""
        q = (
            "SELECT i.model, i.dataset, count(*) FROM items i LEFT JOIN scores s ON s.model = i.model "
            "AND s.dataset = i.dataset WHERE s.model IS NULL GROUP BY i.model, i.dataset"
        )
        return [tuple(r) for r in self._db.execute(q).fetchall()]

    def claim(self, keys: list[str], owner: str, stale_s: float) -> list[str]:
        """Claim keys for inference: free ones, our own, and claims older than `stale_s`; never keys that
        already have a good prediction. Returns the keys now ours. One transaction per call."""
        now = time.time()
        marks = ",".join("?" * len(keys))
        with self._tx():
            done = {
                k
                for (k,) in self._db.execute(
                    f"SELECT key FROM predictions WHERE status = 'ok' AND key IN ({marks})", keys
                ).fetchall()
            }
            todo = [k for k in keys if k not in done]
            self._db.conn.executemany(
                "INSERT INTO claims (key, owner, claimed) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                "owner = excluded.owner, claimed = excluded.claimed WHERE claims.owner = excluded.owner "
                "OR claims.claimed < ?",
                [(k, owner, now, now - stale_s) for k in todo],
            )
            q = f"SELECT key FROM claims WHERE owner = ? AND key IN ({','.join('?' * len(todo))})"
            mine = {k for (k,) in self._db.execute(q, [owner, *todo]).fetchall()} if todo else set()
        return [k for k in todo if k in mine]

    def release(self, owner: str) -> None:
        with self._tx():
            self._db.execute("DELETE FROM claims WHERE owner = ?", [owner])

    def reap(self, host: str, alive: Callable[[int], bool], stale_s: float = 600.0) -> int:
        """Drop the claims of this host's processes that are gone (killed), so their keys are free at once,
        and mark their runs — and runs elsewhere whose lease went stale — interrupted. Returns the number
        of claim owners dropped."""

        def gone(owner: str) -> bool:
            parts = owner.split(":")
            return len(parts) >= 2 and parts[0] == host and parts[1].isdigit() and not alive(int(parts[1]))

        dead = [o for (o,) in self._db.execute("SELECT DISTINCT owner FROM claims").fetchall() if gone(o)]
        running = self._db.execute("SELECT run_id, owner, heartbeat FROM runs WHERE status = 'running'").fetchall()
        now = time.time()
        ended = [
            r
            for r, owner, beat in running
            if owner and (gone(owner) or (owner.split(":")[0] != host and (beat or 0) < now - stale_s))
        ]
        with self._tx():
            for owner in dead:
                self._db.execute("DELETE FROM claims WHERE owner = ?", [owner])
            for run_id in ended:
                self._db.execute("UPDATE runs SET status = 'interrupted', finished = ? WHERE run_id = ?", [now, run_id])
        return len(dead)

    def close(self) -> None:
        self._db.close()


def _upsert_rows(conn: sqlite3.Connection, table: str, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows, or update every given column of the row with the same primary key: one prepared
    statement run over the batch (sqlite-utils' upsert_all builds and type-checks SQL per chunk, which
    was the store's largest cost on a judged run). Values are scalars: callers encode JSON themselves."""
    if not rows:
        return
    pk = SCHEMA[table][1]
    keys = (pk,) if isinstance(pk, str) else pk
    by_columns: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for row in rows:
        columns = tuple(row)
        by_columns.setdefault(columns, []).append(tuple(row.values()))
    for columns, values in by_columns.items():
        rest = [c for c in columns if c not in keys]
        update = f"DO UPDATE SET {', '.join(f'[{c}] = excluded.[{c}]' for c in rest)}" if rest else "DO NOTHING"
        sql = (
            f"INSERT INTO [{table}] ({', '.join(f'[{c}]' for c in columns)}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT ({', '.join(f'[{k}]' for k in keys)}) {update}"
        )
        conn.executemany(sql, values)


def _hex_list(digests: list[str]) -> str:
    """canonical_json of a list of hex digests, written directly (nothing in them needs escaping)."""
    return '["' + '","'.join(digests) + '"]' if digests else "[]"


def _item_rows(items: Sequence[ItemScore]) -> list[dict[str, Any]]:
    encoded: dict[int, str] = {}  # values shared by several rows (one item under several recipes): encoded once
    rows = []
    for i in items:
        text = encoded.get(id(i.values))
        if text is None:
            text = encoded[id(i.values)] = _SORTED.encode(dict(i.values))
        row = {"model": i.model, "dataset": i.dataset, "idx": i.index, "recipe": i.recipe, "subset": i.subset}
        rows.append({**row, "metric_key": i.key, "values_json": text})
    return rows


def _chunks(seq: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(seq), CHUNK):
        yield seq[i : i + CHUNK]
