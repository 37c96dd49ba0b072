"""Content keys (C1): sha256 over canonical JSON of exactly what decides an output."""

from __future__ import annotations

import hashlib
import json
from typing import Any

KEY_SCHEMA = 1  # bump when the shape of what goes into a key changes
# json.dumps with these options builds an encoder per call; one built once writes the same text
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 kept, no NaN (it has no canonical form)."""
    return _CANONICAL.encode(obj)


def content_key(kind: str, payload: Any) -> str:
    """sha256 hex of {schema, kind, payload}; `kind` separates key spaces (inference, judge, metric)."""
    body = canonical_json({"schema": KEY_SCHEMA, "kind": kind, "payload": payload})
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
