"""Judge templates that reproduce a reference's own judge requests, built at run time from the user's
checkout of it (almeval/references.py) — almeval carries none of their text.

Kimi-Audio-Evalkit: each prompt is a module constant of its dataset modules (`almeval/datasets/ds_*.py`,
read with `ast`, never executed); the system prompt is the one its gpt-4o-mini judge is built with
(`almeval/judge_models/__init__.py`); the request is what its client sends: the user message as one text
content part, the temperature and top_p its scoring passes, max_tokens 1024, n 1, frequency and presence
penalty 0 and stop null as its defaults. Replies are read its way and invalid ones dropped by the
`judge-kimi` recipe as it drops them:
  kimi:open-qa        OPEN_QA_PROMPT (ds_openqa.py), temperature 0.5: a number, else the first `[[n]]`
  kimi:single-choice  SINGLE_CHOICE_PRPMPT (ds_mqa.py), temperature 0: `yes` / `no` as substrings of the
                      reply's last line (yes first). Its TUT2017 and CochlScene variants are never used by
                      its code (it compares lower-case names with the declared ones), so neither are they here.
  kimi:ref-qa         REF_QA_PRPMPT (ds_refqa.py), ClothoAQA; kimi:sd-qa  SQ_QA_PROMPT, sd-qa; as above.
  kimi:oab-<subset>   OpenAudioBench_PROMPTS[<subset>] (ds_refqa.py), temperature 0, read per subset as it
                      reads them: alpaca_eval the first [[n]] (1-10, ×10), reasoning_qa the last [0-5]
                      (×20), llama_questions "The score is [Correct]", trivia_qa / web_questions the
                      {'judgment': ...} between the first { and } (read as a literal; it runs eval()).
`eval --recipe kimi` wires them to the benchmarks Kimi-Audio-Evalkit judges with them (KIMI_WIRING).

VoiceBench (`api_judge.py` of its checkout, read with `ast`): `meta_prompt_open` and `meta_prompt_qa`
(stripped, as the module strips it), filled as its script fills them (str.replace of {prompt},
{reference}, {response} in turn: the spoken question's transcript, the reference, the reply), its
system message, and its request: temperature 0.5, top_p 0.95, max_tokens 1024, penalties 0, stop null
and n=3 in one call; the three replies are read as it reads them:
  voicebench:open  alpacaeval_full, commoneval, wildvoice: the mean of the three ratings (mean_of_ratings)
  voicebench:qa    sd-qa: the majority of the three, right only if exactly "yes" (majority_yes)
`eval --recipe voicebench` wires them (VOICEBENCH_WIRING).
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from almeval import references
from almeval.cache.keys import canonical_json
from almeval.errors import ConfigError
from almeval.references import assigned_key, dict_value, module_dict, module_string

from .templates import Template

KIMI_OPEN_QA = "kimi:open-qa"
DEFAULTS: dict[str, Any] = {"max_tokens": 1024, "n": 1, "frequency_penalty": 0, "presence_penalty": 0, "stop": None}
# template id → (module in its checkout, the constant, temperature, the parse rule)
KIMI_TEMPLATES: dict[str, tuple[str, str, float, str]] = {
    KIMI_OPEN_QA: ("almeval/datasets/ds_openqa.py", "OPEN_QA_PROMPT", 0.5, "first_number_or_rating"),
    "kimi:single-choice": ("almeval/datasets/ds_mqa.py", "SINGLE_CHOICE_PRPMPT", 0.0, "last_line_yes_no"),
    "kimi:ref-qa": ("almeval/datasets/ds_refqa.py", "REF_QA_PRPMPT", 0.0, "last_line_yes_no"),
    "kimi:sd-qa": ("almeval/datasets/ds_refqa.py", "SQ_QA_PROMPT", 0.0, "last_line_yes_no"),
}
OAB_READINGS = {
    "alpaca_eval": "first_rating_1_10",
    "reasoning_qa": "last_bracket_0_5",
    "llama_questions": "first_score_is",
    "trivia_qa": "first_braces_judgment",
    "web_questions": "first_braces_judgment",
}
_MQA = ("mmau-test-mini", "openbookqa", "mmsu", "MELD", "Nonspeech7k", "TUT2017", "VocalSound", "CochlScene")
# the benchmarks Kimi-Audio-Evalkit judges with each of them
KIMI_WIRING: dict[str, str | dict[str, str]] = {
    "alpacaeval_full": KIMI_OPEN_QA,
    "commoneval": KIMI_OPEN_QA,
    **{name: "kimi:single-choice" for name in _MQA},
    "ClothoAQA": "kimi:ref-qa",
    "sd-qa": "kimi:sd-qa",
    "OpenAudioBench": {subset: f"kimi:oab-{subset}" for subset in OAB_READINGS},
}


VOICEBENCH_TEMPLATES: dict[str, tuple[str, str]] = {  # id → (its constant in api_judge.py, the parse rule)
    "voicebench:open": ("meta_prompt_open", "mean_of_ratings"),
    "voicebench:qa": ("meta_prompt_qa", "majority_yes"),
}
VOICEBENCH_WIRING: dict[str, str | dict[str, str]] = {
    "alpacaeval_full": "voicebench:open",
    "commoneval": "voicebench:open",
    "wildvoice": "voicebench:open",
    "sd-qa": "voicebench:qa",
}
WIRING: dict[str, dict[str, str | dict[str, str]]] = {"kimi": KIMI_WIRING, "voicebench": VOICEBENCH_WIRING}


def reference_templates() -> dict[str, Template]:
    """The compat templates of the reference this run's view asks for (`--recipe kimi|voicebench`), none
    otherwise."""
    if references.wanted("kimi"):
        ref = references.get("kimi")
        out = {tid: _kimi_template(tid, str(ref.path), ref.commit) for tid in KIMI_TEMPLATES}
        return {**out, **{t.id: t for t in _kimi_oab_templates(str(ref.path), ref.commit)}}
    if references.wanted("voicebench"):
        ref = references.get("voicebench")
        return {tid: _voicebench_template(tid, str(ref.path), ref.commit) for tid in VOICEBENCH_TEMPLATES}
    return {}


@cache
def _kimi_oab_templates(path: str, commit: str) -> tuple[Template, ...]:
    root = Path(path)
    prompts = module_dict(root / "almeval/datasets/ds_refqa.py", "OpenAudioBench_PROMPTS")
    params = {"temperature": 0.0, "top_p": 0.95, **DEFAULTS}
    out = []
    for subset, parse in OAB_READINGS.items():
        user = prompts.get(subset)
        if user is None:
            raise ConfigError(f"{root}: OpenAudioBench_PROMPTS has no {subset!r}: is this the version almeval knows?")
        about = f"Kimi-Audio-Evalkit's OpenAudioBench {subset} judge request"
        out.append(_compat(f"kimi:oab-{subset}", "kimi", commit, user, _kimi_system(root), params, parse, about))
    return tuple(out)


@cache
def _voicebench_template(tid: str, path: str, commit: str) -> Template:
    source = Path(path) / "api_judge.py"
    constant, parse = VOICEBENCH_TEMPLATES[tid]
    user = module_string(source, constant)
    system = dict_value(source, "role", "system", "content")
    params = {"temperature": 0.5, "top_p": 0.95, **DEFAULTS, "n": 3}
    about = f"VoiceBench's {constant} judge request (n=3 in one call)"
    return _compat(tid, "voicebench", commit, user, system, params, parse, about)


@cache
def _kimi_template(tid: str, path: str, commit: str) -> Template:
    root = Path(path)
    module, constant, temperature, parse = KIMI_TEMPLATES[tid]
    user = module_string(root / module, constant)
    params = {"temperature": temperature, "top_p": 0.95, **DEFAULTS}
    about = f"Kimi-Audio-Evalkit's {constant} judge request"
    return _compat(tid, "kimi", commit, user, _kimi_system(root), params, parse, about)


def _kimi_system(root: Path) -> str:
    return assigned_key(root / "almeval/judge_models/__init__.py", "get_gpt4o_mini_model", "system_prompt")


def _compat(
    tid: str, reference: str, commit: str, user: str, system: str, params: dict[str, Any], parse: str, about: str
) -> Template:
    """A reference's own judge request as a template: its digest covers the text, the params and the
    reference's commit, so another checkout re-judges."""
    sent = {"system": system, "user": user, "params": params, "reference": reference, "commit": commit}
    return Template(
        id=tid,
        digest=hashlib.sha256(canonical_json(sent).encode()).hexdigest(),
        parse=parse,
        user=user,
        system=system,
        params=params,
        description=f"{about}, from the checkout at {commit[:12]}",
        delimit=False,
        reference=reference,
    )
