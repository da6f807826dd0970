"""The API's own answers besides the engine's results: errors, health, suggestions.

Dataclasses like the engine's result classes, so that `search.serialize` turns them
into JSON and the OpenAPI document describes them from the same fields.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from search.results import Suggestion
from search.serialize import OPTIONAL


@dataclass(frozen=True)
class Error:
    """What went wrong, and what to change."""

    error: str


@dataclass(frozen=True)
class Health:
    """Whether the index can be searched; if not, why and what to run."""

    status: str  # "ok", "no index" or "outdated index"
    index: bool
    reason: str | None = field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True)
class Suggestions:
    """Indexed words that complete what was typed (by its characters, pinyin or initials)."""

    query: str
    suggestions: list[Suggestion]
