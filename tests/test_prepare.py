"""Dataset preparers on fixtures in the source's real format; resumable, checksummed downloads."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from conftest import cli
from source_fixtures import librispeech

from almeval.errors import DataError
from almeval.prepare.download import fetch, file_sha256


def test_librispeech_from_the_official_layout(tmp_path):
    sources = librispeech(tmp_path)
    clean, other = sources["test-clean"], sources["test-other"]
    root = tmp_path / "bench"
    res = cli(
        "data",
        "prepare",
        "LibriSpeech",
        "--root",
        str(root),
        "--source",
        f"test-clean={clean}",
        "--source",
        f"test-other={other}",
    )
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)["prepared"]["LibriSpeech"]
    assert summary["items"] == 6 and summary["skipped"] == 2
    manifest = root / "LibriSpeech" / "LibriSpeech.jsonl"
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert {r["subset"] for r in rows} == {"test_clean", "test_other"}
    assert all(not Path(r["audio_path"]).is_absolute() for r in rows)  # the tree can be moved
    first = rows[0]
    assert first["answer"] == "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG"
    assert first["meta"]["sha256"] == file_sha256(manifest.parent / first["audio_path"])
    skipped = [
        json.loads(line) for line in (root / "LibriSpeech" / "LibriSpeech.skipped.jsonl").read_text().splitlines()
    ]
    assert {s["reason"] for s in skipped} == {"audio missing from the tarball"}
    # the dataset root makes it a prepared, named dataset that evaluates like any other
    out = cli(
        "eval", "-m", "fake", "-d", "LibriSpeech", "--json", "-q", env={"ALMEVAL_DATASET_ROOT": str(root)}, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["datasets"]["LibriSpeech"]["items"] == 6
    assert summary["datasets"]["LibriSpeech"]["scores"]["asr-default@2"]["wer"] == 0.0


class FlakyServer:
    """Serves one file; the first response is cut off halfway (a reset), later ones honour Range."""

    def __init__(self, payload: bytes):
        self.payload, self.requests, self.ranges = payload, 0, []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        start = int(request.headers.get("Range", "bytes=0-")[6:].split("-")[0] or 0)
        self.ranges.append(start)
        body = self.payload[start:]
        resp = web.StreamResponse(status=206 if start else 200, headers={"Content-Length": str(len(body))})
        await resp.prepare(request)
        if self.requests == 1:
            await resp.write(body[: len(body) // 2])
            request.transport.abort()  # type: ignore[union-attr]
            return resp
        await resp.write(body)
        return resp


@contextlib.contextmanager
def serving(app: web.Application) -> Iterator[int]:
    """`app` served on 127.0.0.1 from a thread of its own, for as long as the block runs; yields the port."""
    import asyncio

    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


@pytest.fixture
def flaky(tmp_path):
    payload = bytes(range(256)) * 4096  # 1 MiB
    server = FlakyServer(payload)
    app = web.Application()
    app.router.add_get("/f.tar.gz", server.handle)
    with serving(app) as port:
        yield server, f"http://127.0.0.1:{port}/f.tar.gz", payload


def test_download_resumes_after_a_reset_and_checks_sha256(tmp_path, flaky):
    import hashlib

    server, url, payload = flaky
    dest = fetch(url, tmp_path / "f.tar.gz", sha256=hashlib.sha256(payload).hexdigest())
    assert dest.read_bytes() == payload
    assert server.requests == 2 and server.ranges[1] > 0  # the second request resumed, it did not restart
    assert fetch(url, dest, sha256=hashlib.sha256(payload).hexdigest()) == dest and server.requests == 2
    # the recorded digest guards the reuse: a download damaged since is fetched again
    assert (tmp_path / "f.tar.gz.sha256").read_text().strip() == hashlib.sha256(payload).hexdigest()
    assert fetch(url, dest) == dest and server.requests == 2
    dest.write_bytes(payload[:1000])
    assert fetch(url, dest).read_bytes() == payload and server.requests == 3


def test_download_with_a_wrong_checksum_is_a_clear_error(tmp_path, flaky):
    _, url, _ = flaky
    with pytest.raises(DataError, match="checksum mismatch"):
        fetch(url, tmp_path / "g.tar.gz", sha256="0" * 64)
    assert not (tmp_path / "g.tar.gz").exists() and not (tmp_path / "g.tar.gz.part").exists()


def test_a_download_must_match_its_declared_pin_or_be_allowed_as_unverified(tmp_path, flaky):
    import hashlib

    from almeval.prepare.download import pinned

    _, url, payload = flaky
    good_md5 = hashlib.md5(payload).hexdigest()  # publishers such as OpenSLR list md5 sums
    with pinned({url: f"md5:{good_md5}"}) as pinning:
        dest = fetch(url, tmp_path / "a" / "f.tar.gz")
    assert dest.read_bytes() == payload and pinning.log[0]["verified"] == "md5"
    with pytest.raises(DataError, match="checksum mismatch: got sha256"), pinned({url: "sha256:" + "0" * 64}):
        fetch(url, tmp_path / "b" / "f.tar.gz")
    # the file already there is not reused when it does not have the pinned digest
    with pytest.raises(DataError, match="checksum mismatch"), pinned({url: "md5:" + "0" * 32}):
        fetch(url, dest)
    with pytest.raises(DataError, match="no pinned checksum is declared"), pinned({}):
        fetch(url, tmp_path / "c" / "f.tar.gz")
    assert not (tmp_path / "c" / "f.tar.gz").exists()
    with pinned({}, allow_unverified=True) as pinning:
        fetch(url, tmp_path / "c" / "f.tar.gz")
    assert pinning.log == [
        {"url": url, "file": "f.tar.gz", "sha256": hashlib.sha256(payload).hexdigest(), "verified": "unverified"}
    ]


def test_prepare_refuses_an_unpinned_download_and_records_an_allowed_one_in_the_scores_provenance(tmp_path):
    sources = librispeech(tmp_path / "src")
    app = web.Application()
    app.router.add_static("/", tmp_path / "src")
    with serving(app) as port:
        args = ["data", "prepare", "LibriSpeech", "--root", str(tmp_path / "bench")]
        for split, path in sources.items():
            args += ["--source", f"{split}=http://127.0.0.1:{port}/{Path(path).name}"]
        refused = cli(*args)
        assert refused.returncode == 2 and "no pinned checksum is declared" in refused.stderr
        assert "--allow-unverified" in refused.stderr
        assert not (tmp_path / "bench" / "LibriSpeech" / "LibriSpeech.jsonl").exists()
        allowed = cli(*args, "--allow-unverified")
        assert allowed.returncode == 0, allowed.stderr
    log = json.loads((tmp_path / "bench" / "LibriSpeech" / "downloads.json").read_text())
    assert sorted(e["file"] for e in log) == ["test-clean.tar.gz", "test-other.tar.gz"]
    assert {e["verified"] for e in log} == {"unverified"}
    env = {"ALMEVAL_DATASET_ROOT": str(tmp_path / "bench")}
    assert cli("eval", "-m", "fake", "-d", "LibriSpeech", "-q", env=env, cwd=tmp_path).returncode == 0
    report = json.loads(cli("report", "--format", "json", env=env, cwd=tmp_path).stdout)
    prov = next(s["provenance"] for s in report["scores"] if s["benchmark"] == "LibriSpeech")
    assert [e["verified"] for e in prov["downloads"]] == ["unverified", "unverified"]


def test_the_official_librispeech_downloads_are_pinned():
    from almeval.datasets.catalog import SERIES
    from almeval.prepare.librispeech import URLS

    pins = next(s for s in SERIES if s.name == "LibriSpeech").pins
    assert set(URLS.values()) == set(pins)
    assert all(p.startswith("sha256:") and len(p) == 7 + 64 for p in pins.values())
