"""The judge of openai/evals' ModelBasedClassify evals: each eval's modelgraded spec, resolved from the
registries at run time (almeval/datasets/oai.py: Registry.graded), becomes a template with its own id
(`oai:<eval name>`): oaieval's messages and request, read by the `oai_classify` parser with the spec's
choices, scores, eval_type and match_fn. Its digest covers what is sent (messages, spec args, request),
so a changed modelgraded spec re-judges the evals that use it and nothing else; changed choice scores
re-score stored replies without a call."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from almeval.cache.keys import canonical_json
from almeval.datasets import oai
from almeval.values import DatasetInfo

from .templates import Template


def oai_templates(benchmarks: Iterable[DatasetInfo]) -> dict[str, Template]:
    """A template for every model-graded openai/evals eval among `benchmarks`."""
    out: dict[str, Template] = {}
    for b in benchmarks:
        if b.series != oai.SERIES or not isinstance(b.judge, str) or not b.name.startswith(oai.PREFIX):
            continue
        reg = oai.registry()
        spec = reg.resolve(b.name[len(oai.PREFIX) :])
        graded = reg.graded(spec)
        sent = {
            "chat": list(graded.chat),
            "args": dict(graded.args),
            "io": graded.input_outputs,
            "params": dict(graded.params),
        }
        out[b.judge] = Template(
            id=b.judge,
            digest=hashlib.sha256(canonical_json({**sent, "params": dict(graded.params)}).encode()).hexdigest(),
            parse="oai_classify",
            user="",
            params=dict(graded.params),
            options={
                "choice_strings": graded.choices,
                "choice_scores": dict(graded.scores) if graded.scores is not None else None,
                "eval_type": graded.reading,
                "match_fn": graded.match_fn,
            },
            description=f"openai/evals {spec.name}: modelgraded spec {graded.spec} ({graded.reading})",
            delimit=False,
            reference="openai/evals",
            graded=graded,
        )
    return out
