"""Config declarations checked with pydantic, each failure one line naming the file and the key.

Every config a user writes (training hyperparameters, Ray settings, saved games) is declared once
as a pydantic model with a docstring per field; :func:`check_model` validates a mapping against
it and turns pydantic's report into Echelon's one-line style:
``FILE: KEY: what is allowed (got VALUE)``.
"""

from __future__ import annotations

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
    """The first error of a pydantic ValidationError as ``key.sub: message (got value)``."""
    error = exc.errors(include_url=False)[0]
    parts = [p for p in error["loc"] if not _is_type_tag(p)]
    loc = ".".join(str(p) for p in parts)
    if error["type"] == "missing":
        return f"missing key '{loc}'"
    if error["type"] == "extra_forbidden":
        return f"unknown key '{loc}'"
    return f"{loc}: {message(error, model, parts)}"


MESSAGES = {
    "int_type": "must be a whole number", "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number", "float_type": "must be a number",
    "float_parsing": "must be a number", "finite_number": "must be a finite number",
    "greater_than_equal": "must be >= {ge}", "greater_than": "must be > {gt}",
    "less_than_equal": "must be at most {le}", "less_than": "must be < {lt}",
    "bool_type": "must be true or false", "bool_parsing": "must be true or false",
    "string_type": "must be a string", "string_too_short": "must be a non-empty string",
    "list_type": "must be a list", "tuple_type": "must be a list", "dict_type": "must be a mapping",
    "model_type": "must be a mapping", "model_attributes_type": "must be a mapping",
    "too_short": "must have at least {min_length} item(s)", "too_long": "must have at most {max_length} items",
    "literal_error": "must be {expected}",
}
"""Echelon's words for pydantic's error types (``{ge}`` and the like come from the error's context)."""


def message(error: Mapping[str, Any], model: type[BaseModel], parts: list[Any]) -> str:
    """What is wrong and what is allowed, with the value given: ``must be >= 0 (got -1)``.

    Where a field takes one of several forms (a union), pydantic's first complaint is about one form
    only; the message is then the field's docstring, which lists every form."""
    template = MESSAGES.get(error["type"])
    if template is not None:
        ctx = {k: f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else f"{v:g}" if isinstance(v, float)
               else v for k, v in (error.get("ctx") or {}).items()}
        text = template.format(**ctx)
    else:
        text = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        text = text[:1].lower() + text[1:]
    if len(parts) < len(error["loc"]) and error["type"] != "value_error":
        description = _description(model, parts)
        if description:
            text = "expected " + description[0].lower() + description[1:].rstrip(".")
    got = error.get("input")
    shown = repr(got) if not isinstance(got, Mapping | list) or len(repr(got)) < 60 else type(got).__name__
    return f"{text} (got {shown})"


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


