"""openai/evals registries, read as data: eval specs, eval sets, model-graded specs and samples.

A registry is a folder in the `evals/registry/` layout of openai/evals and its forks: `evals/*.yaml`
(eval specs), `eval_sets/*.yaml`, `modelgraded/*.yaml`, `data/**/samples.jsonl`. The official one comes
with the `evals` package (installed `--no-deps` by `make install`: almeval never imports it, only reads
its files); `--oai-registry DIR` adds more, later ones overriding earlier ones by name, as oaieval's
`--registry_path` does. Names resolve through the specs' `id` indirection (`test-match` →
`test-match.s1.simple-v0` → class + args). `--data oai:NAME` / `oai-set:NAME` run them: each eval is a
text benchmark (task `Text`) whose samples come from its samples_jsonl, scored by its grader's recipe
(almeval/rules.py); classes almeval does not grade are a clear error listing the supported ones.
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from almeval.errors import ConfigError, DataError, UnknownNameError
from almeval.references import module_dict
from almeval.values import DatasetInfo, Sample

# grader class (as oaieval names it) → the rule recipe that grades it
GRADED = {
    "evals.elsuite.basic.match:Match": "oai-match",
    "evals.elsuite.basic.includes:Includes": "oai-includes",
    "evals.elsuite.basic.fuzzy_match:FuzzyMatch": "oai-fuzzy-match",
}
# graded by the judge (--judge) with the eval's modelgraded spec as its template (judges/oai.py)
MODEL_GRADED = "evals.elsuite.modelgraded.classify:ModelBasedClassify"
SUPPORTED = sorted([*GRADED, MODEL_GRADED])
# how a reply line is matched against a choice, by the spec's `match_fn` (the line first, the choice second)
MATCH_FNS: dict[str, Callable[[str, str], bool]] = {
    "include": lambda line, choice: line in choice,
    "exact": lambda line, choice: line == choice,
    "endswith": lambda line, choice: line.endswith(choice),
    "starts_or_endswith": lambda line, choice: line.startswith(choice) or line.endswith(choice),
}
# where a registry's package keeps its answer prompts (the eval_type instructions appended to a spec's
# prompt): beside the registry, as in the evals package and its forks; read with ast, never imported
ANSWER_PROMPTS = ("elsuite/modelgraded/classify_utils.py", "ANSWER_PROMPTS")
PREFIX = "oai:"
SERIES = "openai/evals"
_RUN: dict[str, Any] = {"extra": (), "registry": None}  # this run's --oai-registry folders, loaded once


def use_registries(dirs: Iterable[str | Path]) -> None:
    """The run's --oai-registry folders (after the installed package's registry); read again at each run."""
    _RUN.update(extra=tuple(Path(d) for d in dirs), registry=None)


def registry() -> Registry:
    """The run's registries, parsed once per run (the official one alone is ~850 specs)."""
    if _RUN["registry"] is None:
        _RUN["registry"] = Registry.load(_RUN["extra"])
    return _RUN["registry"]


def select(selector: str) -> list[DatasetInfo]:
    """`oai:NAME` → one benchmark; `oai-set:NAME` → one per eval the set lists, named as it lists them."""
    reg = registry()
    is_set = selector.startswith("oai-set:")
    names = reg.eval_set(selector[len("oai-set:") :]) if is_set else (selector[len(PREFIX) :],)
    out = []
    for name in names:
        spec = reg.resolve(name)
        if spec.cls not in SUPPORTED:
            raise ConfigError(
                f"openai/evals eval {name!r} uses {spec.cls}, which almeval does not grade yet; "
                f"supported: {', '.join(SUPPORTED)}"
            )
        judged = spec.cls == MODEL_GRADED
        if judged:
            reg.graded(spec)  # an eval almeval cannot judge as oaieval would is refused before anything runs
        out.append(
            DatasetInfo(
                name=f"{PREFIX}{name}",
                task="Text",
                interactive="Text",
                audio_type="None",
                series=SERIES,
                manifest=f"{PREFIX}{name}",
                description=spec.description,
                subsets=(name,),
                rules=() if judged else (GRADED[spec.cls],),
                judge=f"{PREFIX}{name}" if judged else None,
                group="Text evals (openai/evals)",
            )
        )
    return out


def load(info: DatasetInfo, limit: int | None) -> tuple[list[Sample], tuple[str, ...]]:
    """The eval's samples as text Samples (no audio): `question` the input rendered as text (what the
    content key covers), `meta.input` the messages as given, `meta.ideal` the ideal answer(s); for a
    model-graded eval `meta.row` the whole sample (its fields fill the judge's prompt) and, for a
    metaeval, `meta.oai_choice` the labelled choice."""
    reg = registry()
    spec = reg.resolve(info.name[len(PREFIX) :])
    rows = reg.samples(spec)
    graded = reg.graded(spec) if spec.cls == MODEL_GRADED else None
    shots = reg.few_shot(spec)
    source = spec.samples_path(reg.dirs)
    samples = []
    for row in rows[: limit if limit is not None else None]:
        where = f"{source}:{int(row['index']) + 1}"
        meta: dict[str, Any] = {"input": row["input"]}
        if graded is None:
            if "ideal" not in row:
                raise DataError(where, f"{spec.cls} needs an ideal answer per sample", "add `ideal` to that line")
            meta["oai_args"] = {k: v for k, v in spec.args.items() if k == "ignore_case"}
        else:
            meta.update(graded.sample_meta(row, where))
        if shots:  # as Match builds it: the input's messages but the last, the shots, then the last
            if not isinstance(row["input"], list):
                raise DataError(where, "a few-shot eval needs chat messages as input", "fix that line")
            meta["input"] = [*row["input"][:-1], *shots, *row["input"][-1:]]
        ideal = row.get("ideal", "")
        meta["ideal"] = ideal
        samples.append(
            Sample(
                dataset=info.name,
                subset=info.name[len(PREFIX) :],
                index=str(row["index"]),
                audio=(),
                question=render(meta["input"]),
                answer=ideal if isinstance(ideal, str) else str(ideal[0] if ideal else ""),
                task="Text",
                interactive="Text",
                audio_type="None",
                meta=meta,
                line=int(row["index"]) + 1,
            )
        )
    return samples, tuple(str(r["index"]) for r in rows)


def render(prompt: Any) -> str:
    """A chat input as text (one `role (name): content` line per message), or the string prompt itself."""
    if isinstance(prompt, str):
        return prompt
    lines = []
    for m in prompt:
        if isinstance(m, dict):
            name = f" ({m['name']})" if m.get("name") else ""
            lines.append(f"{m.get('role', 'user')}{name}: {m.get('content', '')}")
    return "\n".join(lines)


def official_registry() -> Path | None:
    """The registry inside the installed `evals` package (found, never imported), or None."""
    from importlib.util import find_spec

    spec = find_spec("evals")
    for folder in spec.submodule_search_locations or () if spec else ():
        registry = Path(folder) / "registry"
        if (registry / "evals").is_dir():
            return registry
    return None


@dataclass(frozen=True)
class Graded:
    """A ModelBasedClassify eval as its judge sees it (Registry.graded)."""

    spec: str  # the modelgraded spec's name
    chat: tuple[Mapping[str, Any], ...]  # the judge's messages, {fields} unfilled, the answer prompt appended
    choices: tuple[str, ...]
    scores: Mapping[str, float] | None
    reading: str  # the eval_type replies are read by (cot_* from the last line up, others from the first)
    match_fn: str
    input_outputs: tuple[str, str]  # (the sample's input field, the output field the judge reads)
    args: Mapping[str, Any]  # modelgraded_spec_args
    params: Mapping[str, Any]  # the judge's request
    metaeval: bool
    sources: Mapping[str, str]

    def fields(self) -> set[str]:
        """The fields the judge's messages are filled with."""
        return {name for m in self.chat for name in _field_names(str(m.get("content", "")))}

    def sample_meta(self, row: Mapping[str, Any], where: str) -> dict[str, Any]:
        """What a sample keeps for its judge: the row, the input the model is asked (the spec's input
        field), and for a metaeval its labelled choice. A field the prompt needs that neither the sample,
        the model's reply nor the spec's args give is an error naming the line."""
        given = {"n", self.input_outputs[1], *row, *self.args}
        missing = sorted(self.fields() - given)
        if missing:
            raise DataError(
                where, f"the modelgraded spec {self.spec!r} needs {', '.join(missing)}", "add them to that line"
            )
        source = self.input_outputs[0]
        if source not in row:
            raise DataError(where, f"the spec's input field {source!r} is missing", "add it to that line")
        meta: dict[str, Any] = {"input": row[source], "row": {k: v for k, v in row.items() if k != "index"}}
        if self.metaeval:
            if "choice" not in row:
                raise DataError(where, "a metaeval sample needs its labelled `choice`", "add it to that line")
            meta["oai_choice"] = str(row["choice"])
        return meta

    def messages(self, row: Mapping[str, Any], prediction: str) -> list[dict[str, Any]]:
        """The judge's request for one sample, filled as oaieval fills it: the input field with its braces
        doubled (as oaieval escapes it before filling), the model's reply as the output field unless the
        sample already holds it, the sample's fields, the spec's args, and a chat value as text."""
        source, output = self.input_outputs
        values: dict[str, Any] = {"n": 1}
        if output not in row:
            values[output] = prediction
        values.update(row)
        values[source] = _escaped(row.get(source, ""))
        values.update(self.args)
        values = {k: chat_text(v) if _is_chat(v) else v for k, v in values.items()}
        return [
            {**m, "content": fill(str(m["content"]), values, "judge prompt")} if "content" in m else dict(m)
            for m in self.chat
        ]


def fill(template: str, values: Mapping[str, Any], what: str) -> str:
    """`template` with its {fields} filled by str.format (lists and numbers as Python writes them);
    a field without a value is an error."""
    names = _field_names(template)
    missing = [n for n in names if n not in values]
    if missing:
        raise ConfigError(f"{what}: no value for {', '.join(sorted(set(missing)))}")
    return template.format(**{n: values[n] for n in names})


def _field_names(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def _is_chat(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(m, dict) for m in value)


def _escaped(value: Any) -> Any:
    """Braces doubled in a string, or in each message's content."""
    if _is_chat(value):
        return [
            {**m, "content": str(m["content"]).replace("{", "{{").replace("}", "}}")} if "content" in m else m
            for m in value
        ]
    return str(value).replace("{", "{{").replace("}", "}}") if isinstance(value, str) else value


def chat_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """Chat messages as one text, as oaieval writes them into a judge prompt: a single message is its
    content; otherwise one line per message, prefixed by its name or role ("System" none; example_user
    and example_assistant as "User" and "Assistant"; other roles capitalised), leading space removed."""
    if len(messages) == 1:
        return str(messages[0]["content"])
    prefixes = {"system": "", "example_user": "User: ", "example_assistant": "Assistant: "}
    text = ""
    for m in messages:
        role = str(m["name"]) if "name" in m else str(m["role"])
        text += prefixes.get(role, role.capitalize() + ": ") + str(m["content"]) + "\n"
    return text.lstrip()


def _choice_strings(value: Any, where: str) -> list[str]:
    """A spec's choice_strings: a list, or a string of one-character choices ("ABCDE"); "from_n*" (for
    several completions) is not supported; a choice with punctuation is refused, as oaieval refuses it."""
    if isinstance(value, str) and value.startswith("from_n"):
        raise ConfigError(f"{where}: choice_strings {value!r} needs several completions per sample (not supported)")
    choices = [str(c) for c in value]
    bad = [c for c in choices if any(ch in string.punctuation for ch in c)]
    if bad or not choices:
        raise ConfigError(f"{where}: choice_strings must be choices without punctuation, not {value!r}")
    return choices


@dataclass(frozen=True)
class EvalSpec:
    """An eval as its registry declares it: the name asked for, the spec id it resolves to, the grader
    class (as oaieval names it), its args, the metrics it reports, and the registry that declared it."""

    name: str
    id: str
    cls: str
    args: Mapping[str, Any]
    metrics: tuple[str, ...]
    description: str
    registry: Path

    def samples_path(self, registries: Sequence[Path], arg: str = "samples_jsonl") -> Path:
        """`args.samples_jsonl` (or another data file it names, e.g. few_shot_jsonl), relative to a registry's
        data/ (the declaring one first, then the others from the last given)."""
        rel = self.args.get(arg)
        if not rel:
            raise DataError(f"oai:{self.name}", f"the eval names no {arg}", "check its spec in the registry")
        for registry in [self.registry, *reversed(registries)]:
            path = registry / "data" / str(rel)
            if path.is_file():
                return path
        raise DataError(
            f"oai:{self.name}",
            f"{arg} file {rel} not found under any registry's data/",
            "install the registry's data (a fork's data/ is often kept in Git LFS: `git lfs pull`)",
        )


@dataclass
class Registry:
    """Registries merged in order (later ones override earlier ones by name)."""

    dirs: tuple[Path, ...]
    specs: dict[str, tuple[dict[str, Any], Path]] = field(default_factory=dict)
    sets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    modelgraded: dict[str, tuple[dict[str, Any], Path]] = field(default_factory=dict)

    @classmethod
    def load(cls, extra: Iterable[str | Path] = (), official: bool = True) -> Registry:
        dirs = [d for d in ([official_registry()] if official else []) if d is not None]
        for d in extra:
            path = Path(d).expanduser().resolve()
            if not (path / "evals").is_dir() and not (path / "eval_sets").is_dir():
                raise ConfigError(f"--oai-registry {d}: not a registry folder (no evals/ or eval_sets/ inside)")
            dirs.append(path)
        out = cls(tuple(dirs))
        for registry in dirs:
            for name, spec in _yaml_entries(registry / "evals"):
                out.specs[name] = (spec, registry)
            for name, spec in _yaml_entries(registry / "modelgraded"):
                out.modelgraded[name] = (spec, registry)
            for name, spec in _yaml_entries(registry / "eval_sets"):
                evals = spec.get("evals") if isinstance(spec, dict) else None
                if not isinstance(evals, list):
                    raise ConfigError(f"{registry / 'eval_sets'}: eval set {name!r} has no list of evals")
                out.sets[name] = tuple(str(e) for e in evals)
        return out

    @cached_property
    def names(self) -> list[str]:
        """The evals a user asks for by name: entries that are not themselves a resolved id's target."""
        targets = {str(spec.get("id")) for spec, _ in self.specs.values() if isinstance(spec, dict) and "id" in spec}
        return sorted(n for n in self.specs if n not in targets)

    def resolve(self, name: str) -> EvalSpec:
        if name not in self.specs:
            raise UnknownNameError("openai/evals eval", name, self.names)
        seen, current = [name], name
        spec, registry = self.specs[name]
        meta = dict(spec)
        while "class" not in spec:
            target = spec.get("id")
            if not target or target in seen or target not in self.specs:
                chain = " → ".join([*seen, str(target)])
                raise ConfigError(f"openai/evals spec {name!r} does not resolve to a class ({chain})")
            seen.append(str(target))
            current = str(target)
            spec, registry = self.specs[current]
        return EvalSpec(
            name=name,
            id=current,
            cls=str(spec["class"]),
            args=dict(spec.get("args") or {}),
            metrics=tuple(str(m) for m in (meta.get("metrics") or spec.get("metrics") or ())),
            description=str(meta.get("description") or ""),
            registry=registry,
        )

    def graded(self, spec: EvalSpec) -> Graded:
        """What a ModelBasedClassify eval asks its judge, resolved as oaieval resolves it: the modelgraded
        spec's prompt (a string becomes one user message), the eval_type's answer prompt appended to the
        last message with the choices filled in, the choices and their scores, how replies are read
        (eval_type, match_fn) and the request. What almeval does not run as oaieval does is refused."""
        args = spec.args
        name = str(args.get("modelgraded_spec") or "")
        if name not in self.modelgraded:
            raise UnknownNameError(f"modelgraded spec (eval {spec.name})", name, self.modelgraded)
        mg, declared = self.modelgraded[name]
        where = f"openai/evals eval {spec.name!r} (modelgraded spec {name!r})"
        if not isinstance(mg, dict) or not {"prompt", "choice_strings", "input_outputs"} <= set(mg):
            raise ConfigError(f"{where}: a modelgraded spec needs prompt, choice_strings and input_outputs")
        if args.get("multicomp_n", 1) != 1:
            raise ConfigError(
                f"{where}: multicomp_n {args['multicomp_n']!r} (several completions per sample) is not supported"
            )
        io = mg["input_outputs"]
        if not isinstance(io, dict) or len(io) != 1:
            raise ConfigError(f"{where}: only one input → output pair is supported, not {io!r}")
        match_fn = str(args.get("match_fn") or "starts_or_endswith")
        if match_fn not in MATCH_FNS:
            raise ConfigError(f"{where}: match_fn {match_fn!r} is not one of {', '.join(MATCH_FNS)}")
        eval_type = args.get("eval_type")
        reading = mg.get("eval_type") or eval_type
        if not reading:
            raise ConfigError(f"{where}: neither the eval nor its spec gives an eval_type to read replies by")
        choices = _choice_strings(mg["choice_strings"], where)
        prompt = mg["prompt"]
        chat = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else [dict(m) for m in prompt]
        sources = {"modelgraded": str(declared / "modelgraded")}
        if eval_type:
            prompts = self.answer_prompts
            if eval_type not in prompts:
                raise UnknownNameError(f"eval_type answer prompt (eval {spec.name})", str(eval_type), prompts)
            text, source = prompts[eval_type]
            chat[-1]["content"] = (
                str(chat[-1]["content"])
                + "\n\n"
                + fill(text, {"choices": " or ".join(f'"{c}"' for c in choices)}, f"answer prompt {eval_type}")
            )
            sources["answer_prompt"] = str(source)
        scores = mg.get("choice_scores")
        if scores == "from_strings":
            scores = {c: float(c) for c in choices}
        eval_kwargs = {"max_tokens": 1024, **(args.get("eval_kwargs") or {})}
        params = {
            "max_tokens": eval_kwargs["max_tokens"],
            "temperature": eval_kwargs.get("temperature", 0),
            "top_p": 1,
            "frequency_penalty": 0,
            "presence_penalty": 0,
            "n": eval_kwargs.get("n_samples") or 1,
            **(eval_kwargs.get("completion_kwargs") or {}),
        }
        return Graded(
            spec=name,
            chat=tuple(chat),
            choices=tuple(choices),
            scores={str(k): float(v) for k, v in scores.items()} if isinstance(scores, dict) else None,
            reading=str(reading),
            match_fn=match_fn,
            input_outputs=(str(next(iter(io))), str(next(iter(io.values())))),
            args=dict(args.get("modelgraded_spec_args") or {}),
            params=params,
            metaeval=bool(args.get("metaeval")),
            sources=sources,
        )

    @cached_property
    def answer_prompts(self) -> dict[str, tuple[str, Path]]:
        """eval_type → (answer prompt, the file it came from): each registry's package's own, later ones
        overriding (a fork's classify_utils.py beside its registry adds e.g. cot_classify_zh). Read once
        per registry set (every model-graded eval of a run asks for them, at selection, loading and
        judging)."""
        out: dict[str, tuple[str, Path]] = {}
        for registry in self.dirs:
            source = registry.parent / ANSWER_PROMPTS[0]
            if source.is_file():
                out.update({k: (v, source) for k, v in module_dict(source, ANSWER_PROMPTS[1]).items()})
        return out

    def eval_set(self, name: str) -> tuple[str, ...]:
        if name not in self.sets:
            raise UnknownNameError("openai/evals eval set", name, self.sets)
        return self.sets[name]

    def samples(self, spec: EvalSpec) -> list[dict[str, Any]]:
        """The eval's samples, each with its 0-based line as `index`; `input` (a string or chat messages)
        and `ideal` (a string or a list) checked."""
        path = spec.samples_path(self.dirs)
        out: list[dict[str, Any]] = []
        with path.open(encoding="utf-8") as fh:
            for lineno, raw in enumerate(fh):
                if not raw.strip():
                    continue
                where = f"{path}:{lineno + 1}"
                try:
                    row = json.loads(raw)
                except ValueError as exc:
                    raise DataError(where, f"not valid JSON ({exc})", "fix or remove that line") from None
                if not isinstance(row, dict) or "input" not in row:
                    raise DataError(where, "a sample needs an input (a string or chat messages)", "fix that line")
                if not isinstance(row["input"], (str, list)):
                    raise DataError(where, "input must be a string or a list of messages", "fix that line")
                out.append({**row, "index": len(out)})
        return out

    def few_shot(self, spec: EvalSpec) -> list[dict[str, Any]]:
        """Match's few-shot messages: the `sample` messages of the first num_few_shot lines of its
        few_shot_jsonl, in order (none when num_few_shot is 0)."""
        wanted = int(spec.args.get("num_few_shot") or 0)
        if wanted <= 0:
            return []
        if spec.cls != "evals.elsuite.basic.match:Match":
            raise ConfigError(f"openai/evals eval {spec.name!r}: num_few_shot is Match's; {spec.cls} has none")
        path = spec.samples_path(self.dirs, "few_shot_jsonl")
        out: list[dict[str, Any]] = []
        with path.open(encoding="utf-8") as fh:
            for lineno, raw in enumerate(fh, 1):
                if lineno > wanted:
                    break
                try:
                    shot = json.loads(raw).get("sample")
                except (ValueError, AttributeError):
                    shot = None
                if not (isinstance(shot, list) and all(isinstance(m, dict) for m in shot)):
                    raise DataError(
                        f"{path}:{lineno}", "a few-shot line needs `sample`: chat messages", "fix that line"
                    )
                out += shot
        return out

    def listing(self) -> list[dict[str, Any]]:
        """Every eval by name (class, metrics, description, registry) and every eval set."""
        rows: list[dict[str, Any]] = []
        for name in self.names:
            try:
                spec = self.resolve(name)
            except ConfigError as exc:
                rows.append({"eval": name, "error": str(exc)})
                continue
            rows.append(
                {
                    "eval": name,
                    "id": spec.id,
                    "class": spec.cls,
                    "metrics": list(spec.metrics),
                    "description": spec.description,
                    "registry": str(spec.registry),
                }
            )
        rows += [{"eval_set": name, "evals": list(evals)} for name, evals in sorted(self.sets.items())]
        return rows


def _yaml_entries(folder: Path) -> Iterable[tuple[str, Any]]:
    """(name, spec) from every YAML file under `folder` (several top-level names per file)."""
    if not folder.is_dir():
        return
    import yaml

    for path in sorted(folder.rglob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from None
        if data is None:
            continue
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: a registry file maps names to specs")
        yield from ((str(k), v) for k, v in data.items())
