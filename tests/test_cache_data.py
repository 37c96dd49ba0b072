"""The disk cache holds data, not code: JSON only, every value checked against its digest on read; an edited
entry is counted, ignored (recomputed) and reported by `almeval cache check`; a pickled one is never run."""

from __future__ import annotations

import pickle
import sqlite3

from conftest import cli, run

from almeval.cache import Memo
from almeval.cache.memo import FORMAT


def _db(tmp_path):
    return sqlite3.connect(tmp_path / "cache" / FORMAT / "cache.db")


def test_an_edited_cached_prediction_is_refused_and_recomputed_not_scored(tmp_path, asr_set):
    first = run(tmp_path, [str(asr_set)], model_args={"batch_size": "4"})
    assert first["datasets"]["set"]["scores"]["asr-default@2"]["wer"] == 0.0
    con = _db(tmp_path)
    # an attacker rewrites every cached prediction's text
    import json

    rows = con.execute("SELECT rowid, key, value FROM Cache").fetchall()
    edited = 0
    for rowid, _key, value in rows:
        entry = json.loads(value)
        if isinstance(entry.get("v"), dict) and "text" in entry["v"]:
            entry["v"]["text"] = "forged words"
            con.execute("UPDATE Cache SET value = ? WHERE rowid = ?", [json.dumps(entry), rowid])
            edited += 1
    con.commit()
    assert edited > 0
    # without the store (deleted) only the (edited) cache could answer
    import shutil

    shutil.rmtree(tmp_path / "work")
    again = run(tmp_path, [str(asr_set)], model_args={"batch_size": "4"})
    assert again["inferred"] == 12 and again["inference_cache_hits"] == 0  # refused, so recomputed
    assert again["datasets"]["set"]["scores"]["asr-default@2"]["wer"] == 0.0  # not the forged text


def test_cache_check_reports_edited_entries_and_fix_deletes_them(tmp_path):
    memo = Memo(tmp_path / "cache")
    memo.set("pred", "k1", {"text": "real"})
    memo.set("pred", "k2", {"text": "also real"})
    memo.close()
    import json

    con = _db(tmp_path)
    rowid, value = con.execute("SELECT rowid, value FROM Cache LIMIT 1").fetchone()
    entry = json.loads(value)
    entry["v"]["text"] = "edited"
    con.execute("UPDATE Cache SET value = ? WHERE rowid = ?", [json.dumps(entry), rowid])
    con.commit()
    out = cli("cache", "check", "--cache-dir", str(tmp_path / "cache"), "-w", str(tmp_path / "nowork"))
    assert out.returncode == 4 and "does not match its digest" in out.stdout
    fixed = cli("cache", "check", "--cache-dir", str(tmp_path / "cache"), "-w", str(tmp_path / "nowork"), "--repair")
    assert "deleted" in fixed.stdout
    assert cli("cache", "check", "--cache-dir", str(tmp_path / "cache"), "-w", str(tmp_path / "nowork")).returncode == 0


def test_a_format_2_cache_is_copied_over_once_and_its_edited_entries_are_not(tmp_path):
    """Format 2 zlib-compressed every key and value; format 3 stores text. Its good entries carry over (a
    rerun after the upgrade stays cheap), an edited one does not, and the old folder is gone."""
    import diskcache

    from almeval.cache.memo import LEGACY, LegacyDisk, _digest

    old = diskcache.Cache(str(tmp_path / "cache" / LEGACY), disk=LegacyDisk)
    old.set("judge:k1", {"v": {"reply": "yes"}, "t": 1.0, "d": _digest({"reply": "yes"})})
    old.set("judge:k2", {"v": {"reply": "edited"}, "t": 1.0, "d": _digest({"reply": "no"})})
    old.close()
    memo = Memo(tmp_path / "cache")
    assert memo.get("judge", "k1") == {"reply": "yes"} and memo.get("judge", "k2") is None
    assert not (tmp_path / "cache" / LEGACY).exists() and memo.stats()["entries"] == 1
    memo.close()
    assert Memo(tmp_path / "cache").get("judge", "k1") == {"reply": "yes"}


class _Boom:
    def __reduce__(self):
        import os

        return (os.system, ("touch PWNED",))


def test_a_pickled_entry_is_refused_and_never_executed(tmp_path):
    memo = Memo(tmp_path / "cache")
    memo.set("pred", "k", {"text": "real"})
    memo.close()
    con = _db(tmp_path)
    # rewrite the row as diskcache's pickle mode (4) with a payload that would run a command if unpickled
    con.execute("UPDATE Cache SET mode = 4, value = ?", [pickle.dumps(_Boom())])
    con.commit()
    memo = Memo(tmp_path / "cache")
    assert memo.get("pred", "k") is None and memo.rejected == 1
    assert not (tmp_path / "PWNED").exists()


def test_a_same_size_in_place_change_is_caught_with_rehash_against_the_manifest_sha256(tmp_path):
    """The digest memo trusts (path, size, mtime, inode); a file rewritten in place with the same size and
    its mtime put back passes that check. The manifest's meta.sha256 (written by `data prepare`) catches it
    once the bytes are read again (--rehash), and a changed size is caught at once."""
    import hashlib
    import json
    import os

    from conftest import write_manifest, write_wav

    audio = write_wav(tmp_path / "d" / "a.wav", freq=440.0)
    digest = hashlib.sha256(audio.read_bytes()).hexdigest()
    row = {"index": 0, "audio_path": "a.wav", "question": "q", "answer": "hello", "subset": "s"}
    row["meta"] = {"task": "ASR", "lang": "en", "sha256": digest}
    manifest = write_manifest(tmp_path / "d" / "set.jsonl", [row])
    work = str(tmp_path / "w")
    assert cli("eval", "-m", "fake", "-d", str(manifest), "-w", work).returncode == 0

    st = os.stat(audio)
    with open(audio, "r+b") as fh:  # same size, other bytes, same inode; then the old mtime back
        fh.seek(st.st_size - 4)
        fh.write(b"\x01\x02\x03\x04")
    os.utime(audio, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert cli("eval", "-m", "fake", "-d", str(manifest), "-w", work).returncode == 0  # the memo cannot tell
    out = cli("eval", "-m", "fake", "-d", str(manifest), "-w", work, "--rehash")
    assert out.returncode == 2
    assert "set.jsonl:1" in out.stderr and "does not match the sha256 the manifest recorded" in " ".join(
        out.stderr.split()
    )

    write_wav(audio, seconds=0.7)  # another size: re-hashed without being asked
    out = cli("eval", "-m", "fake", "-d", str(manifest), "-w", work)
    assert out.returncode == 2 and "does not match the sha256" in " ".join(out.stderr.split())
    assert json.loads(manifest.read_text())["meta"]["sha256"] == digest
