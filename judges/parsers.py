"""Strict judge-reply parsers: each returns ok with a value, or invalid with the reason. Never a
random fallback, never eval(). Only the judge's own final line / structure is read, so a model answer
quoted in the reasoning ("Result: yes" inside it) cannot flip the verdict."""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from almeval.datasets.oai import MATCH_FNS


@dataclass(frozen=True)
class Parsed:
    ok: bool
    value: float | None = None  # 1/0 for verdicts, the score on its reported scale otherwise
    label: str = ""
    reason: str = ""


def _invalid(reason: str) -> Parsed:
    return Parsed(False, reason=reason)


ECHO_MIN = 6  # answers at least this long are removed wherever the judge quotes them; shorter ones only as whole lines


def without_echo(reply: str, prediction: str) -> str:
    """The judge's reply with its quotations of the model's answer taken out, so nothing the model wrote
    can stand where a parser reads the verdict ("Result: yes", "[[10]]", "The answer is (A)" or a JSON
    verdict inside an answer that the judge repeats after its own verdict). An answer of ECHO_MIN
    characters or more (or of several lines) is removed wherever it appears, line by line too; a shorter
    one ("yes", "B") only where it fills a whole line, so the judge's own "Result: yes" is never cut.
    If the answer is the judge's verdict word for word, the verdict goes with it: the reply becomes
    invalid (counted), never a verdict the model chose."""
    answer = prediction.strip()
    if not answer:
        return reply
    if not is_short(answer):
        out = reply.replace(answer, "\n")
        for line in sorted({ln.strip() for ln in answer.splitlines() if len(ln.strip()) >= ECHO_MIN}, key=len)[::-1]:
            out = out.replace(line, "\n")
        return out
    return "\n".join(ln for ln in reply.splitlines() if ln.strip() != answer)


def is_short(prediction: str) -> bool:
    """An answer short enough ("B", "yes") to be a judge's own bare verdict word."""
    answer = prediction.strip()
    return len(answer) < ECHO_MIN and "\n" not in answer


def _last_line(reply: str) -> str:
    lines = [ln.strip() for ln in reply.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


_RESULT = re.compile(r"^(?:\**\s*)?(?:final\s+)?(?:result|verdict|answer)?\s*[:：]?\s*\**\s*(yes|no)\b[\s.!*]*$", re.I)


def yes_no(reply: str, **_: Any) -> Parsed:
    """The last non-empty line must be a verdict: "Result: yes", "yes", "**No**"…"""
    line = _last_line(reply)
    m = _RESULT.match(line)
    if not m:
        return _invalid(f"last line is not a yes/no verdict: {line[:80]!r}")
    verdict = m.group(1).lower()
    return Parsed(True, 1.0 if verdict == "yes" else 0.0, verdict)


def _in_range(value: float, lo: float, hi: float, what: str) -> Parsed:
    if not lo <= value <= hi:
        return _invalid(f"{what} {value:g} outside {lo:g}-{hi:g}")
    return Parsed(True, value, f"{value:g}")


def score_1_5(reply: str, **_: Any) -> Parsed:
    """The whole reply is a number, or the last [[n]] in it."""
    text = reply.strip()
    try:
        return _in_range(float(text), 1, 5, "score")
    except ValueError:
        pass
    found = re.findall(r"\[\[(\d+(?:\.\d+)?)\]\]", text)
    if not found:
        return _invalid(f"no score in reply: {text[:80]!r}")
    return _in_range(float(found[-1]), 1, 5, "score")


def rating_1_10(reply: str, **_: Any) -> Parsed:
    found = re.findall(r"\[\[(\d+(?:\.\d+)?)\]\]", reply)
    if not found:
        return _invalid("no [[rating]] in reply")
    return _in_range(float(found[-1]), 1, 10, "rating")


def correct_incorrect(reply: str, **_: Any) -> Parsed:
    found = re.findall(r"the score is \[(correct|incorrect)\]", reply, re.I)
    if not found:
        return _invalid('no "the score is [Correct|Incorrect]" in reply')
    verdict = found[-1].lower()
    return Parsed(True, 1.0 if verdict == "correct" else 0.0, verdict)


def bracket_0_5(reply: str, **_: Any) -> Parsed:
    """The last [n] with n in 0-5 (OpenAudioBench reasoning_qa's "得分是[n]")."""
    found = re.findall(r"\[([0-5])\]", reply)
    if not found:
        return _invalid("no [n] grade in reply")
    return Parsed(True, float(found[-1]), found[-1])


def json_judgment(reply: str, **_: Any) -> Parsed:
    """The last JSON object in the reply with "judgment": correct | incorrect (parsed as JSON only)."""
    decoder = json.JSONDecoder()
    found: dict[str, Any] | None = None
    for start in [m.start() for m in re.finditer(r"\{", reply)]:
        try:
            obj, _end = decoder.raw_decode(reply[start:])
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and "judgment" in obj:
            found = obj
    if found is None:
        return _invalid("no JSON object with a judgment in reply")
    verdict = str(found["judgment"]).strip().lower()
    if verdict not in ("correct", "incorrect"):
        return _invalid(f"judgment is {verdict!r}, not correct/incorrect")
    return Parsed(True, 1.0 if verdict == "correct" else 0.0, verdict)


def choice(
    reply: str,
    *,
    choice_strings: Sequence[str] = (),
    choice_scores: Mapping[str, float] | None = None,
    cot: bool = True,
    **_: Any,
) -> Parsed:
    """openai/evals classification: the choice alone on the last line (cot) or the first line."""
    lines = [ln.strip() for ln in reply.strip().splitlines() if ln.strip()]
    if not lines:
        return _invalid("empty reply")
    line = (lines[-1] if cot else lines[0]).strip(" .*()'\"")
    if line not in choice_strings:
        return _invalid(f"{'last' if cot else 'first'} line {line[:40]!r} is not one of {', '.join(choice_strings)}")
    score = (choice_scores or {}).get(line)
    return Parsed(True, None if score is None else float(score), line)


def oai_classify(
    reply: str,
    *,
    choice_strings: Sequence[str] = (),
    choice_scores: Mapping[str, float] | None = None,
    eval_type: str = "cot_classify",
    match_fn: str = "starts_or_endswith",
    **_: Any,
) -> Parsed:
    """openai/evals' ModelBasedClassify reading: the reply's lines (from the last one up for cot_* eval
    types, else from the first), each stripped and without punctuation, empty ones skipped; the first
    line that matches a choice (by the spec's match_fn, in choice order) gives it. Its score is the
    spec's choice score (None where the spec gives none); no match is invalid."""
    match = MATCH_FNS[match_fn]
    lines = reply.strip().split("\n")
    for line in lines[::-1] if eval_type.startswith("cot_classify") else lines:
        text = "".join(c for c in line.strip() if c not in string.punctuation)
        if not text:
            continue
        for option in choice_strings:
            if match(text, option):
                score = (choice_scores or {}).get(option)
                return Parsed(True, None if score is None else float(score), option)
    return _invalid(f"no line matches one of {', '.join(choice_strings)}")


def choice_letter(reply: str, *, answer: str = "", letters: str = "ABCDEFGHIJ", **_: Any) -> Parsed:
    """A judge that names the option an answer chose: the letter alone on the reply's last line (with
    brackets, a period or "Option" around it), or Z for none; right when it is the item's answer."""
    line = _last_line(reply).strip(" .*()[]'\"")
    if line.lower().startswith("option"):
        line = line[len("option") :].strip(" .:*()[]'\"")
    if len(line) != 1 or line.upper() not in letters + "Z":
        return _invalid(f"last line is not one option letter or Z: {line[:40]!r}")
    letter = line.upper()
    return Parsed(True, 1.0 if letter == answer.strip().upper() else 0.0, letter)


def exact_choice(question: str, prediction: str, options: Mapping[str, str]) -> str | None:
    """A `decide` rule: the option exact matching reads from the answer (then no judge is asked)."""
    from almeval.image_rules import choice_of

    return choice_of(prediction, options) if options else None


# `decide:` rules a template may name: the verdict a rule reaches without a judge call, or None (ask)
DECIDERS: dict[str, Callable[[str, str, Mapping[str, str]], str | None]] = {"exact-choice": exact_choice}


_DOUBLE_BRACKET = re.compile(r"\[\[(\d+)\]\]")


def first_number_or_rating(reply: str, **_: Any) -> Parsed:
    """Kimi-Audio-Evalkit's open-QA reading: the whole stripped reply as a number, else the first
    `[[n]]` anywhere in it; any value (no range check), as it does. For its compat template only."""
    text = reply.strip()
    try:
        return Parsed(True, float(text), text)
    except ValueError:
        pass
    m = _DOUBLE_BRACKET.search(text)
    if m:
        return Parsed(True, float(int(m.group(1))), m.group(0))
    return _invalid("neither a number nor [[n]]")


def last_line_yes_no(reply: str, **_: Any) -> Parsed:
    """Kimi-Audio-Evalkit's yes/no reading: the stripped reply's last line, lower-cased; `yes` anywhere in
    it is right, else `no` anywhere is wrong, else invalid. For its compat templates only (a quoted
    answer on the last line decides, as it does there)."""
    last = reply.strip().split("\n")[-1].strip().lower()
    if "yes" in last:
        return Parsed(True, 1.0, "yes")
    if "no" in last:
        return Parsed(True, 0.0, "no")
    return _invalid("no yes / no on the last line")


def _choices(reply: str) -> list[str]:
    """The replies of a call that asked for several (stored as a JSON list), each stripped."""
    try:
        value = json.loads(reply)
    except ValueError:
        value = reply
    return [str(v).strip() for v in value] if isinstance(value, list) else [str(value).strip()]


def mean_of_ratings(reply: str, **_: Any) -> Parsed:
    """VoiceBench's open-QA reading of its n=3 replies: each a number, else its first `[[n]]`; the mean.
    Where VoiceBench stops with an error (a reply with neither), the item is invalid here."""
    values = []
    for text in _choices(reply):
        parsed = first_number_or_rating(text)
        if not parsed.ok or parsed.value is None:
            return _invalid(f"a reply is neither a number nor [[n]]: {text[:40]!r}")
        values.append(parsed.value)
    return Parsed(True, sum(values) / len(values), "mean")


def majority_yes(reply: str, **_: Any) -> Parsed:
    """VoiceBench's sd-qa reading of its n=3 replies: lower-cased, the most frequent one; right only if it
    is exactly "yes". Where all differ, VoiceBench's pick depends on set order (hash seed): invalid here."""
    votes = [t.lower() for t in _choices(reply)]
    counts = {v: votes.count(v) for v in votes}
    top = max(counts.values())
    winners = [v for v, c in counts.items() if c == top]
    if len(winners) > 1:
        return _invalid("no majority among the replies")
    return Parsed(True, 1.0 if winners[0] == "yes" else 0.0, winners[0])


_SCORE_IS = re.compile(r"[Tt]he score is \[(Correct|Incorrect|correct|incorrect)\]")
_BRACKET_0_5 = re.compile(r"\[([0-5])\]")


def first_rating_1_10(reply: str, **_: Any) -> Parsed:
    """Kimi-Audio-Evalkit's OpenAudioBench alpaca_eval reading: the first `[[n]]`; a value outside 1-10
    stops its evaluation (an assertion), so it is invalid here."""
    m = _DOUBLE_BRACKET.search(reply)
    if not m:
        return _invalid("no [[n]]")
    value = int(m.group(1))
    return Parsed(True, float(value), m.group(0)) if 1 <= value <= 10 else _invalid(f"rating {value} outside 1-10")


def last_bracket_0_5(reply: str, **_: Any) -> Parsed:
    """Its reasoning_qa reading: the last `[d]` with d in 0-5 anywhere in the reply."""
    found = _BRACKET_0_5.findall(reply)
    return Parsed(True, float(found[-1]), found[-1]) if found else _invalid("no [0-5]")


def first_score_is(reply: str, **_: Any) -> Parsed:
    """Its llama_questions reading: the first "The score is [Correct]" / "[Incorrect]" (either case)."""
    m = _SCORE_IS.search(reply)
    return Parsed(True, 1.0 if m.group(1).lower() == "correct" else 0.0, m.group(1)) if m else _invalid("no score")


def first_braces_judgment(reply: str, **_: Any) -> Parsed:
    """Its trivia_qa / web_questions reading: the text from the first `{` to the first `}` as a dict
    literal, right when its `judgment` is "correct" (any case). It evaluates that text as Python; here it
    is only ever read as a literal (ast.literal_eval): model output never runs."""
    import ast

    start, end = reply.find("{"), reply.find("}")
    try:
        value = ast.literal_eval(reply[start : end + 1])
        judgment = str(value["judgment"]).lower()
    except (ValueError, SyntaxError, TypeError, KeyError, MemoryError, RecursionError):
        return _invalid("no {'judgment': ...} literal")
    return Parsed(True, 1.0 if judgment == "correct" else 0.0, judgment)


PARSERS: dict[str, Callable[..., Parsed]] = {
    "yes_no": yes_no,
    "score_1_5": score_1_5,
    "rating_1_10": rating_1_10,
    "correct_incorrect": correct_incorrect,
    "bracket_0_5": bracket_0_5,
    "json_judgment": json_judgment,
    "choice": choice,
    "choice_letter": choice_letter,
    "oai_classify": oai_classify,
    "first_number_or_rating": first_number_or_rating,
    "last_line_yes_no": last_line_yes_no,
    "mean_of_ratings": mean_of_ratings,
    "majority_yes": majority_yes,
    "first_rating_1_10": first_rating_1_10,
    "last_bracket_0_5": last_bracket_0_5,
    "first_score_is": first_score_is,
    "first_braces_judgment": first_braces_judgment,
}

# Every verdict a parser accepts, written out: a local judge in constrained mode (`hf-choose:DIR`,
# `smollm2`) picks one of these by its log-probability instead of generating free text.
VERDICTS: dict[str, Callable[..., list[str]]] = {
    "yes_no": lambda **_: ["Result: yes", "Result: no"],
    "score_1_5": lambda **_: [str(i) for i in range(1, 6)],
    "rating_1_10": lambda **_: [f"Rating: [[{i}]]" for i in range(1, 11)],
    "correct_incorrect": lambda **_: ["The score is [Correct]", "The score is [Incorrect]"],
    "bracket_0_5": lambda **_: [f"[{i}]" for i in range(6)],
    "json_judgment": lambda **_: ['{"judgment": "correct"}', '{"judgment": "incorrect"}'],
    "choice": lambda choice_strings=(), **_: list(choice_strings),
    "oai_classify": lambda choice_strings=(), **_: list(choice_strings),
    "choice_letter": lambda letters="ABCDEFGHIJ", **_: [*letters, "Z"],
    "first_number_or_rating": lambda **_: [str(i) for i in range(1, 6)],
    "last_line_yes_no": lambda **_: ["yes", "no"],
    "mean_of_ratings": lambda **_: [str(i) for i in range(1, 6)],
    "majority_yes": lambda **_: ["Yes", "No"],
    "first_rating_1_10": lambda **_: [f"[[{i}]]" for i in range(1, 11)],
    "last_bracket_0_5": lambda **_: [f"[{i}]" for i in range(6)],
    "first_score_is": lambda **_: ["The score is [Correct]", "The score is [Incorrect]"],
    "first_braces_judgment": lambda **_: ['{"judgment": "correct"}', '{"judgment": "incorrect"}'],
}

# How a parsed value maps to the reported scale, and what an invalid reply counts as when the
# recipe does not drop it (the lowest mark).
SCALES: dict[str, tuple[str, float, float]] = {  # parse → (metric name, multiplier, floor)
    "yes_no": ("acc", 100.0, 0.0),
    "correct_incorrect": ("acc", 100.0, 0.0),
    "json_judgment": ("acc", 100.0, 0.0),
    "choice": ("acc", 100.0, 0.0),
    "choice_letter": ("acc", 100.0, 0.0),
    "oai_classify": ("score", 1.0, 0.0),  # the spec's own choice scores, as oaieval reports them
    "score_1_5": ("score", 1.0, 1.0),
    "rating_1_10": ("score", 10.0, 1.0),
    "bracket_0_5": ("score", 20.0, 0.0),
    "first_number_or_rating": ("score", 1.0, 1.0),
    "last_line_yes_no": ("acc", 100.0, 0.0),
    "mean_of_ratings": ("score", 1.0, 1.0),
    "majority_yes": ("acc", 100.0, 0.0),
    "first_rating_1_10": ("score", 10.0, 1.0),
    "last_bracket_0_5": ("score", 20.0, 0.0),
    "first_score_is": ("acc", 100.0, 0.0),
    "first_braces_judgment": ("acc", 100.0, 0.0),
}
