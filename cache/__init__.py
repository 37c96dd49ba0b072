"""Content keys, the shared disk cache (diskcache) and the audio-digest memo (installed as almeval.cache)."""

from .audio import AudioProbe, AudioProblem
from .keys import KEY_SCHEMA, canonical_json, content_key
from .memo import Memo, default_cache_dir

__all__ = ["KEY_SCHEMA", "AudioProbe", "AudioProblem", "Memo", "canonical_json", "content_key", "default_cache_dir"]
