"""The JSON shape of result objects, read from their dataclass fields.

One description serves twice: `to_json` serializes results (the API, `rcsearch
search --json`) and the OpenAPI document describes them (`web/openapi.py`), so the
two cannot drift. A field's metadata says how it appears:

- no metadata: always there;
- `OPTIONAL`: left out while empty (None, False, empty), so not required;
- `INTERNAL`: for the pages only, never in the JSON;
- `exact_keys(...)`: a dict whose keys are exactly these names.
"""
from __future__ import annotations

import dataclasses
import functools
import typing
from typing import Any, NamedTuple

OPTIONAL = {"json": "optional"}
INTERNAL = {"json": "internal"}


def exact_keys(names: tuple[str, ...]) -> dict:
    """Field metadata: a dict with exactly these keys."""
    return {"keys": tuple(names)}


class JsonField(NamedTuple):
    name: str
    type: Any
    required: bool
    keys: tuple[str, ...] | None


@functools.cache  # resolving type hints costs more than the rest of serializing a hit (exports write 100k)
def json_fields(cls) -> tuple[JsonField, ...]:
    """The fields of a result class (a dataclass or a TypedDict) that its JSON holds, in order."""
    hints = typing.get_type_hints(cls)
    if typing.is_typeddict(cls):
        return tuple(JsonField(name, hint, True, None) for name, hint in hints.items())
    return tuple(JsonField(f.name, hints[f.name], f.metadata.get("json") != "optional", f.metadata.get("keys"))
                 for f in dataclasses.fields(cls) if f.metadata.get("json") != "internal")


def to_json(value):
    """A result object (dataclass, or lists and dicts of them) as JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in json_fields(type(value))
                if f.required or getattr(value, f.name)}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {name: to_json(item) for name, item in value.items()}
    return value
