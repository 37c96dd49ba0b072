"""Audio digests, memoised so each file's bytes are hashed once.

The memo key is (real path, size, mtime_ns, inode): a file rewritten in place gets a new key and is
hashed again; the same bytes under two paths hash to the same digest, so they share inference keys.
"""

from __future__ import annotations

import hashlib
import os

from almeval.values import Audio

from .memo import Memo


class AudioProblem(Exception):
    """The file is missing, empty, truncated or not readable audio (the caller adds the manifest line)."""

    def __init__(self, message: str, fix: str = "fix the path (relative paths resolve against the manifest's folder)"):
        super().__init__(message)
        self.fix = fix


def _wav_frames(path: str) -> int | None:
    """The frame count a PCM WAV header declares (stdlib `wave`), None where it cannot say: not PCM, or
    a streaming writer's placeholder size. libsndfile reads a truncated file without complaint, as if
    it were shorter, so the header is what shows the cut."""
    import wave

    try:
        with wave.open(path, "rb") as w:
            frames, block = w.getnframes(), w.getsampwidth() * w.getnchannels()
    except (wave.Error, EOFError, OSError):
        return None
    return None if frames == 0 or frames * block >= 0xFFFFFF00 else frames


class AudioProbe:
    def __init__(self, memo: Memo | None, rehash: bool = False):
        self.memo = memo
        self.rehash = rehash  # read every file's bytes again instead of trusting the (path, size, mtime, inode) memo
        self._seen: dict[tuple[str, int, int, int], Audio] = {}
        self._by_path: dict[str, Audio] = {}  # one stat per path per process (a plan reads each file once)
        self.hashed = 0  # files whose bytes were read in this process

    def probe(self, path: str) -> Audio:
        found = self._by_path.get(path)
        if found is None:
            found = self._by_path[path] = self._probe(path)
        return found

    def _probe(self, path: str) -> Audio:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise AudioProblem(f"audio file not found: {path}") from None
        except OSError as exc:
            raise AudioProblem(f"audio file not readable: {path} ({exc.strerror})") from None
        if st.st_size == 0:
            raise AudioProblem(f"audio file is empty: {path}")
        sig = (path, st.st_size, st.st_mtime_ns, st.st_ino)
        found = self._seen.get(sig)
        if found is None:
            found = (None if self.rehash else self._from_memo(sig)) or self._read(path, sig)
            self._seen[sig] = found
        return found

    def _memo_key(self, sig: tuple[str, int, int, int]) -> str:
        return "|".join(map(str, sig))

    def _from_memo(self, sig: tuple[str, int, int, int]) -> Audio | None:
        hit = self.memo.get("audio", self._memo_key(sig)) if self.memo else None
        return Audio(sig[0], hit["sha256"], hit["duration_s"], hit["sample_rate"]) if hit else None

    def _read(self, path: str, sig: tuple[str, int, int, int]) -> Audio:
        import soundfile

        try:
            with open(path, "rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest()
            info = soundfile.info(path)
        except (OSError, RuntimeError) as exc:  # soundfile raises LibsndfileError (a RuntimeError)
            raise AudioProblem(
                f"not readable as audio: {path} ({exc})",
                "check it is an audio file (WAV, FLAC, …); copy or prepare it again",
            ) from None
        if info.frames == 0:
            raise AudioProblem(f"audio file has no samples: {path}")
        declared = _wav_frames(path) if info.format == "WAV" else None
        if declared is not None and declared > info.frames:
            raise AudioProblem(
                f"audio file is truncated: {path} (its header declares {declared} frames, the file holds "
                f"{info.frames})",
                "copy the file again, or prepare the dataset again (`almeval data prepare`)",
            )
        self.hashed += 1
        audio = Audio(path, digest, info.frames / info.samplerate, info.samplerate)
        if self.memo:
            value = {"sha256": digest, "duration_s": audio.duration_s, "sample_rate": audio.sample_rate}
            self.memo.set("audio", self._memo_key(sig), value)
        return audio
