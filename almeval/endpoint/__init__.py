"""The OpenAI-compatible client and the per-endpoint limiter (C6), shared by both roles: models under
test behind an endpoint (adapters/endpoint_audio.py) and judges (judges/pool.py). Neither role imports
the other; both import this."""

from .client import ChatClient, Endpoint, Reply, estimate_tokens, public_url
from .limiter import EndpointLimiter, Limits

__all__ = ["ChatClient", "Endpoint", "EndpointLimiter", "Limits", "Reply", "estimate_tokens", "public_url"]
