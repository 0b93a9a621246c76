"""Config declarations checked with pydantic, each failure one line naming the file and the key.

Every config a user writes (training hyperparameters, Ray settings, saved games) is declared once
as a pydantic model with a docstring per field; :func:`check_model` validates a mapping against
it and turns pydantic's report into Echelon's one-line style:
``FILE: KEY: what is allowed (got VALUE)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, ValidationError
from pydantic.fields import FieldInfo

from echelon.envs.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def no_bool(value: Any) -> Any:
    """YAML's ``true`` is not the number 1."""
    if isinstance(value, bool):
        raise ValueError("true/false is not a number")
    return value


def shown(text: str) -> str:
    """``text`` as one printable line: line breaks and control characters (terminal escapes a name in a file
    could carry) written out escaped, never sent to a terminal."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in str(text))


def printable(value: str) -> str:
    """A name shown in tables and reports: printable characters only (no terminal escapes, no line breaks)."""
    bad = next((c for c in value if not c.isprintable()), None)
    if bad is not None:
        raise ValueError(f"must be printable characters only ({bad!r} is not)")
    return value


def no_separator(value: str) -> str:
    """A site's or product's name, which may become part of a file name: no path separators."""
    printable(value)
    if "/" in value or "\\" in value:
        raise ValueError("must not contain '/' or '\\'")
    return value


def file_name(value: str) -> str:
    """A name that becomes a file or folder name: one path component, printable, not '.' or '..'."""
    printable(value)
    if "/" in value or "\\" in value or value.strip() in (".", "..") or value != value.strip():
        raise ValueError("must be a plain name: no '/', '\\', surrounding spaces, '.' or '..'")
    return value


Int = Annotated[int, Field(strict=True), BeforeValidator(no_bool)]
Float = Annotated[float, Field(allow_inf_nan=False, strict=True), BeforeValidator(no_bool)]
"""Whole numbers and finite numbers as a config means them: ``true`` is neither, ``2.5`` is not whole."""
FileName = Annotated[str, Field(strict=True, min_length=1, max_length=100), AfterValidator(file_name)]
"""A config's ``name``, which names its output folder (:func:`file_name`)."""
PrintableName = Annotated[str, Field(strict=True, min_length=1, max_length=200, pattern=r"\S"),
                          AfterValidator(printable)]
"""A site, product or policy name: printable characters only."""
NodeName = Annotated[str, Field(strict=True, min_length=1, max_length=200, pattern=r"\S"),
                     AfterValidator(no_separator)]
"""A site's or product's own name: printable, no path separators (a product node is ``site/product``)."""


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
        error = exc.errors(include_url=False)[0]
        raise ConfigError(f"{at}{field_message(error, model, [p for p in error['loc'] if not is_type_tag(p)])}") \
            from None


def check_model(model: type[BaseModel], raw: Any, src: str, key: str) -> dict[str, Any]:
    """:func:`parse_model`, returning only the keys given, as plain data (lists, not tuples)."""
    return parse_model(model, raw, src, key).model_dump(mode="json", exclude_unset=True)


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


@dataclass(frozen=True)
class Why:
    """Annotated metadata: why a field has its upper bound (said in the message when it is passed)."""

    reason: str


def message(error: Mapping[str, Any], model: type[BaseModel], parts: list[Any], union: bool | None = None) -> str:
    """What is wrong and what is allowed, with the value given: ``must be >= 0 (got -1)``.

    ``parts``: the error's location in ``model`` without pydantic's type tags. Where a field takes one
    of several forms (``union``), pydantic's first complaint is about one form only; the message is
    then the field's docstring, which lists every form."""
    template = MESSAGES.get(error["type"])
    if template is not None:
        ctx = {k: f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else f"{v:g}" if isinstance(v, float)
               else v for k, v in (error.get("ctx") or {}).items()}
        text = template.format(**ctx)
    else:
        text = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        text = text[:1].lower() + text[1:]
    if union is None:
        union = len(parts) < len(error["loc"])
    field = _field(model, parts)
    if union and error["type"] != "value_error" and field is not None and field.description:
        words = " ".join(field.description.split())  # a docstring may run over several lines
        text = "expected " + words[0].lower() + words[1:].rstrip(".")
    elif error["type"] in ("less_than_equal", "too_long") and field is not None:
        why = next((m.reason for m in field.metadata if isinstance(m, Why)), None)
        text += f" ({why})" if why else ""
    got = error.get("input")
    shown = repr(got) if not isinstance(got, Mapping | list) or len(repr(got)) < 60 else type(got).__name__
    return f"{text} (got {shown})"


def field_message(error: Mapping[str, Any], model: type[BaseModel], parts: list[Any], union: bool | None = None,
                  noun: str | None = None) -> str:
    """A pydantic error as one line a person reads: the one translator of validation errors to messages.

    ``parts``: the error's location within ``model``, type tags removed. Two ways to name the place:
    a config file's dotted key (``noun`` None: ``missing key 'a.b'``, ``unknown key 'a.b'``,
    ``a.b: what is allowed (got value)``), or a field of one entry of a file, a site or a demand block
    (``noun='field'``: ``missing field 'x'``, ``unknown field 'x' (allowed: ...)``,
    ``field 'x': sub what is allowed (got value)``)."""
    if noun is None:
        loc = ".".join(str(p) for p in parts)
        kind = {"missing": "missing key", "extra_forbidden": "unknown key"}.get(error["type"])
        return f"{kind} '{loc}'" if kind else f"{loc}: {message(error, model, parts, union)}"
    key, rest = str(parts[0]), ".".join(str(p) for p in parts[1:])
    if error["type"] == "missing":
        return f"missing {noun} '{key}'"
    if error["type"] == "extra_forbidden":
        return f"unknown {noun} '{key}' (allowed: {', '.join(model.model_fields)})"
    inner = f"{noun} '{key}'" + (f": {rest}" if rest else "")
    return f"{inner} {message(error, model, parts, union)}"


def _field(model: type[BaseModel], parts: list[Any]) -> FieldInfo | None:
    """The declaration of the field at ``parts`` (``policy_kwargs``, ``net_arch``) of ``model``; list
    indices are skipped, nested models followed."""
    found = None
    for part in parts:
        if isinstance(part, int):
            continue
        if model is None:
            return found
        found = model.model_fields.get(str(part))
        if found is None:
            return None
        model = _nested_model(found.annotation)
    return found


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The first pydantic model inside a type (``list[SiteSpec]``, ``PolicyKwargs | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def is_type_tag(part: Any) -> bool:
    """pydantic names the union member it tried (``int``, ``list[int]``, ``function-before[...]``, a model's
    class name) in a location; a key of the config never looks like one."""
    if isinstance(part, int):
        return False
    text = str(part)
    return text.startswith(("function-", "constrained-", "literal[")) or text in (
        "int", "float", "str", "bool", "none") or ("[" in text and text != "[key]") or text in _model_names()


def _model_names() -> set[str]:
    names, todo = set(), [BaseModel]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            names.add(sub.__name__)
            todo.append(sub)
    return names




def check_address(address: str, where: str) -> None:
    """An address Ray can join: ``auto``, ``host:port`` or ``ray://host:port``, port in 1..65535 (the RLlib
    backend's ``ray: address`` and a study's)."""
    if address == "auto":
        return
    rest = address.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdecimal() or not 0 < int(port) < 65536 or any(c in host for c in "/ @"):
        raise ConfigError(f"{where}: {shown(address)} is not a Ray address: use auto, host:port or ray://host:port")
