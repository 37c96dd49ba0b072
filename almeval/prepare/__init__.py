"""`almeval data prepare NAME --root DIR`: build manifests from each dataset's public source.

Manifests use paths relative to the root, with each audio file's sha256 and duration in `meta`, so a
prepared tree can be moved. Every item filtered or skipped is listed in `<root>/<SERIES>/<NAME>.skipped.jsonl`
with the reason; nothing is dropped silently. Preparers registered so far: LibriSpeech.
"""

from __future__ import annotations

from almeval.registry import Registry

PREPARERS: Registry = Registry("dataset preparer")
PREPARERS.register("LibriSpeech", "almeval.prepare.librispeech:prepare")

__all__ = ["PREPARERS"]
