"""One error tree for almeval, grouped by what the caller should do.

    AlmevalError
    ├── UserError              fix the input or the configuration, then run again   (exit 2)
    │   ├── ConfigError        config.yaml, CLI options, prompts, unknown names
    │   │   └── UnknownNameError   a registry name that does not exist ("did you mean …")
    │   ├── DataError          a dataset manifest or audio file is broken (names file and line)
    │   └── MissingExtraError  an optional dependency is not installed (says what to pip install)
    ├── StoreError             the SQLite store or disk cache is damaged or unusable (exit 4)
    └── ItemError              one item failed; recorded as data, never ends a run
        └── RetryableError     a transient failure (rate limit, 5xx, timeout) worth retrying

Vendor exceptions (openai, aiohttp, sqlite3, pocketsphinx) are mapped to these at the boundary, so
callers never catch an SDK's errors. Item failures are stored as values (status="error" with the
message); only UserError and StoreError end a run, and records written before them stay.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes that scripts can rely on."""

    OK = 0
    ITEMS_FAILED = 1  # the run finished, but some items failed (they are recorded; rerun retries them)
    USER_ERROR = 2  # bad input or configuration: nothing was computed past the error
    INTERRUPTED = 3
    STORE_ERROR = 4


class AlmevalError(Exception):
    exit_code: ExitCode = ExitCode.USER_ERROR


class UserError(AlmevalError):
    exit_code = ExitCode.USER_ERROR


class ConfigError(UserError):
    pass


class UnknownNameError(ConfigError):
    def __init__(self, kind: str, name: str, known: Iterable[str]):
        known = sorted(known)
        close = difflib.get_close_matches(name.lower(), [k.lower() for k in known], n=3, cutoff=0.5)
        by_lower = {k.lower(): k for k in known}
        hint = f" Did you mean {', '.join(repr(by_lower[c]) for c in close)}?" if close else ""
        super().__init__(f"unknown {kind} {name!r}.{hint} Known: {', '.join(known) or '(none)'}.")
        self.kind, self.name = kind, name


class DataError(UserError):
    """A dataset input problem. `where` is 'file:line' (or a path); `fix` says what to do."""

    def __init__(self, where: str, problem: str, fix: str = ""):
        self.where, self.problem, self.fix = where, problem, fix
        super().__init__(f"{where}: {problem}" + (f" — {fix}" if fix else ""))


class DataErrors(UserError):
    """Several DataErrors found at once (by `almeval data check` or manifest validation)."""

    def __init__(self, errors: list[DataError]):
        self.errors = errors
        head = "\n".join(f"  {e}" for e in errors[:20])
        more = f"\n  … and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} problem(s) in dataset input:\n{head}{more}")


class MissingExtraError(UserError):
    def __init__(self, what: str, install: str):
        super().__init__(f"{what} needs an optional dependency: {install}")


class StoreError(AlmevalError):
    exit_code = ExitCode.STORE_ERROR


class ItemError(AlmevalError):
    """One item failed. Adapters may raise it for a single item; the scheduler records it."""


class RetryableError(ItemError):
    pass
