"""Preparer functions, one per source: `prepare(root, sources) -> summary`. They are named by the benchmark
declarations (`Series.prepare`, almeval/datasets/catalog.py) and dispatched by almeval/preparing.py.

One preparer per series (the folder a dataset lives in: <root>/<SERIES>/<NAME>.jsonl); naming a
dataset prepares its series (`mmsu` → VoiceBench, all seven). Manifests use paths relative to the
series folder, with each audio file's sha256 and duration in `meta`, so a prepared tree can be moved.
Every item filtered or skipped is listed in `<root>/<SERIES>/<NAME>.skipped.jsonl` with the reason;
nothing is dropped silently. Sources are official URLs (streamed, resumable) where the data has a
direct download, or `--source KEY=PATH_OR_URL` (a folder, an archive, a hub id, a save_to_disk copy).
"""
