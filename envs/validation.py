"""Config declarations checked with pydantic, each failure one line naming the file and the key.

Every config a user writes (training hyperparameters, Ray settings, saved games) is declared once
as a pydantic model with a docstring per field; :func:`check_model` validates a mapping against
it and turns pydantic's report into Echelon's one-line style:
``FILE: KEY: what is allowed (got VALUE)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, Field, ValidationError

from echelon.envs.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def no_bool(value: Any) -> Any:
    """YAML's ``true`` is not the number 1."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


Int = Annotated[int, Field(strict=True), BeforeValidator(no_bool)]
Float = Annotated[float, Field(allow_inf_nan=False), BeforeValidator(no_bool)]
"""Whole numbers and finite numbers as a config means them: ``true`` is neither, ``2.5`` is not whole."""


def parse_model(model: type[M], raw: Any, src: str, key: str = "") -> M:
    """Validate a mapping (the one under ``key``, or a whole file) against ``model``; a failure is one
    ConfigError line ``src: key: sub.key: what is allowed (got value)``."""
    at = f"{src}: {key}: " if key else f"{src}: "
    if not isinstance(raw, Mapping):
        what = f"'{key}'" if key else "the file"
        raise ConfigError(f"{src}: {what} must be a mapping (keys: {', '.join(model.model_fields)}; got {raw!r})")
    unknown = sorted(str(k) for k in raw if k not in model.model_fields)
    if unknown:
        raise ConfigError(f"{at}unknown key '{unknown[0]}' (keys: {', '.join(model.model_fields)})")
    try:
        return model.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError(f"{at}{one_line(exc, model)}") from None


def check_model(model: type[BaseModel], raw: Any, src: str, key: str) -> dict[str, Any]:
    """:func:`parse_model`, returning only the keys given, as plain data (lists, not tuples)."""
    return parse_model(model, raw, src, key).model_dump(mode="json", exclude_unset=True)


def one_line(exc: ValidationError, model: type[BaseModel]) -> str:
    """The first error of a pydantic ValidationError as ``key.sub: message (got value)``.

    Where a field takes one of several forms (a union), pydantic's first complaint is about one form
    only; the message is then the field's docstring, which lists every form."""
    error = exc.errors(include_url=False)[0]
    parts = [p for p in error["loc"] if not _is_type_tag(p)]
    loc = ".".join(str(p) for p in parts)
    if error["type"] == "missing":
        return f"missing key '{loc}'"
    if error["type"] == "extra_forbidden":
        return f"unknown key '{loc}'"
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    for text, short in (("Input should be", "must be"), ("input should be", "must be"),
                        ("greater than or equal to", ">="), ("less than or equal to", "<="),
                        ("greater than", ">"), ("less than", "<")):
        message = message.replace(text, short)
    message = re.sub(r"(List|Dictionary|String) should have at least (\d+) (items?|characters?) after validation, "
                     r"not \d+", r"must have at least \2 \3", message)
    message = re.sub(r"(?<![\w.])(\d{5,})(?![\w.])", lambda m: f"{int(m.group(1)):,}", message)
    if len(parts) < len(error["loc"]) and not message.startswith("must be a number"):
        description = _description(model, parts)
        if description:
            message = "expected " + description[0].lower() + description[1:].rstrip(".")
    got = error.get("input")
    shown = repr(got) if not isinstance(got, Mapping | list) or len(repr(got)) < 60 else type(got).__name__
    return f"{loc}: {message} (got {shown})"


def _description(model: type[BaseModel], parts: list[Any]) -> str | None:
    """The docstring of the field at ``parts`` (``policy_kwargs``, ``net_arch``) of ``model``."""
    for i, part in enumerate(parts):
        field = model.model_fields.get(str(part)) if isinstance(model, type) else None
        if field is None:
            return None
        nested = [a for a in getattr(field.annotation, "__args__", (field.annotation,))
                  if isinstance(a, type) and issubclass(a, BaseModel)]
        if i == len(parts) - 1 or not nested:
            return field.description
        model = nested[0]
    return None


def _is_type_tag(part: Any) -> bool:
    """pydantic names the union member it tried (``int``, ``list[int]``, ``function-before[...]``) in a location."""
    text = str(part)
    return text.startswith(("function-", "constrained-")) or text in (
        "int", "float", "str", "bool", "list[int]", "dict[str,list[int]]", "tuple[int,str]") or "[" in text


