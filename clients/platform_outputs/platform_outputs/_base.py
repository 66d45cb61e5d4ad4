"""What every generated contract model shares: strict, frozen, and tolerant of fields it does not know.

Strict, because a port published as the string ``"6379"`` or a name published as ``42`` is a contract
violation a consumer should hear about, not a value to coerce silently. One exception: Pulumi carries every
number as a double, so a ``StackReference`` hands back ``6379.0``; a whole float is accepted where the contract
says integer (``6379.5`` is not). And Pulumi's Python SDK drops null values from every map it deserializes
(``pulumi/runtime/rpc.py``: "values that deserialize to None [are treated] as if they don't exist"), so a
field the contract declares nullable (``master_set: str | null``) arrives absent: absent is read as null
there, and only there. Unknown fields are ignored rather than rejected: within a major version the
platform may add optional fields, and a consumer built against an older minor release must keep working.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator

#: Marker the contract puts on a field whose value is a Pulumi secret.
SECRET_MARKER = "x-pulumi-secret"


def _whole_number(value: Any) -> Any:
    """``6379.0`` -> ``6379``: the engine's doubles back to the integers the contract declares."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: An integer as the contract declares it, accepting the engine's whole-number doubles.
Integer = Annotated[int, BeforeValidator(_whole_number)]


class Contract(BaseModel):
    """Base of every model generated from the outputs contract."""

    model_config = ConfigDict(
        frozen=True,
        strict=True,
        extra="ignore",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    @classmethod
    @functools.cache
    def nullable_keys(cls) -> frozenset[str]:
        """Keys of the required fields that admit null (absent on the wire when null)."""
        keys = set()
        for name, info in cls.model_fields.items():
            if info.is_required() and _admits_none(info.annotation):
                keys.add(info.alias or name)
        return frozenset(keys)

    @model_validator(mode="before")
    @classmethod
    def _absent_means_null(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            absent = [key for key in cls.nullable_keys() if key not in data]
            if absent:
                return {**data, **dict.fromkeys(absent)}
        return data


def _admits_none(annotation: Any) -> bool:
    return annotation is None or type(None) in typing.get_args(annotation)
