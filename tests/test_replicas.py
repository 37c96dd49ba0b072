"""Several OpenAI-compatible servers behind one model under test (`-a base_url=U1,U2,U3`): real local
HTTP servers, balanced by least outstanding requests; one killed mid-run; no item lost or duplicated."""

from __future__ import annotations

import asyncio
import sqlite3

from conftest import asr_rows, write_manifest, write_wav
from openai_server import FakeOpenAI, ServerConfig

from almeval.runner import EvalOptions, evaluate


def _manifest(tmp_path, n):
    """n distinct items (each its own WAV: the same audio would be one content key)."""
    rows = asr_rows(n)
    for i, row in enumerate(rows):
        row["audio_path"] = write_wav(tmp_path / "data" / f"a{i}.wav", seconds=0.1, freq=200.0 + 10 * i).name
    return write_manifest(tmp_path / "data" / "asr.jsonl", rows)


def test_replicas_share_the_work_and_a_replica_that_dies_mid_run_loses_no_item(tmp_path):
    manifest = _manifest(tmp_path, 60)
    configs = [ServerConfig(latency_s=0.02), ServerConfig(latency_s=0.02, die_after=6), ServerConfig(latency_s=0.02)]
    with FakeOpenAI(configs[0]) as a, FakeOpenAI(configs[1]) as b, FakeOpenAI(configs[2]) as c:
        urls = ",".join(s.base_url for s in (a, b, c))
        opts = EvalOptions(
            model="openai:m",
            data=(str(manifest),),
            work_dir=tmp_path / "w",
            model_args={"base_url": urls, "concurrency": "2", "health_s": "0.2", "timeout": "5"},
        )
        out = evaluate(opts)
        served = [s.stats.ok for s in (a, b, c)]
    assert out["inferred"] == 60 and out["failed"] == 0
    assert served[1] <= 6 and served[0] > 10 and served[2] > 10  # the dead one's share went to the others
    assert sum(served) >= 60
    db = sqlite3.connect(tmp_path / "w" / "almeval.sqlite")
    rows = db.execute("SELECT idx, COUNT(*) FROM items GROUP BY idx").fetchall()
    assert len(rows) == 60 and {n for _, n in rows} == {1}  # every item once
    again = evaluate(opts)  # and a rerun needs none of them
    assert again["inferred"] == 0


def test_the_pool_sends_each_call_to_the_replica_with_the_fewest_in_flight(tmp_path):
    from almeval.endpoint.client import Endpoint
    from almeval.endpoint.replicas import ReplicaPool

    async def main(urls):
        pool = ReplicaPool([Endpoint(model="m", base_url=u) for u in urls], {})
        pool.replicas[0].in_flight, pool.replicas[1].in_flight, pool.replicas[2].in_flight = 3, 1, 2
        first = pool.pick()
        pool.replicas[1].healthy = False
        second = pool.pick()
        await pool.aclose()
        return first.endpoint.base_url, second.endpoint.base_url

    urls = ["http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1", "http://127.0.0.1:3/v1"]
    assert asyncio.run(main(urls)) == (urls[1], urls[2])


def test_the_model_key_does_not_change_with_the_number_of_replicas(tmp_path):
    from almeval.adapters.endpoint_audio import EndpointAudioAdapter
    from almeval.plan import model_id

    one = model_id(EndpointAudioAdapter, {"path": "m", "base_url": "http://a/v1,http://b/v1"})
    two = model_id(EndpointAudioAdapter, {"path": "m", "base_url": "http://a/v1,http://b/v1,http://c/v1"})
    assert one.key == two.key
    assert EndpointAudioAdapter.concurrency({"base_url": "http://a/v1,http://b/v1", "concurrency": "4"}) == 8
