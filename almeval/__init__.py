"""almeval: evaluate audio LLMs fast, exactly, and cheaply again.

`import almeval` stays light (no torch, no transformers): heavy adapters load on first use.
"""

from .errors import AlmevalError, ConfigError, DataError, ExitCode, StoreError, UserError
from .values import Audio, DatasetInfo, Prediction, Request, Sample

__version__ = "0.1.0"

__all__ = [
    "AlmevalError",
    "Audio",
    "ConfigError",
    "DataError",
    "DatasetInfo",
    "ExitCode",
    "Prediction",
    "Request",
    "Sample",
    "StoreError",
    "UserError",
    "__version__",
]
