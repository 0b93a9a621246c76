"""The demand models' file format, declared once: one pydantic model per ``kind``, told apart by ``kind``
(a discriminated union, :data:`DemandSpec`). What spans several fields (a negative binomial's variability
above the Poisson's, a season that dips below zero, ``probs`` or ``path``) is checked by the builders in
:mod:`envs.demand`, which turn a validated spec into a model.

Numbers follow the scenario's rules: finite, at most :data:`~envs.limits.MAX_MAGNITUDE` in size; whole
numbers may be written ``4`` or ``4.0``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, TypeAdapter, ValidationError

from echelon.envs.errors import ConfigError
from echelon.envs.limits import MAX_MAGNITUDE, MAX_PERIODS
from echelon.envs.validation import field_message, is_type_tag

MAX_SEQUENCE = MAX_PERIODS
"""Most values a ``sequence`` demand may list (one per period of the longest episode)."""


def _finite(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("must be a finite number")
    if abs(value) > MAX_MAGNITUDE:
        raise ValueError(f"must be at most {MAX_MAGNITUDE:g} in size (costs and levels are summed in float64)")
    return float(value)


def _whole(value: Any) -> int:
    number = _finite(value)
    if not number.is_integer():
        raise ValueError("must be a whole number")
    return int(number)


Number = Annotated[float, BeforeValidator(_finite)]
Whole = Annotated[int, BeforeValidator(_whole)]
NonNegative = Annotated[Number, Field(ge=0)]
Positive = Annotated[Number, Field(gt=0)]
Text = Annotated[str, Field(strict=True, min_length=1)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PoissonSpec(_Spec):
    kind: Literal["poisson"]
    mean: Positive


class NegativeBinomialSpec(_Spec):
    kind: Literal["negative_binomial"]
    mean: Positive
    cv: Positive


class GeometricSpec(_Spec):
    kind: Literal["geometric"]
    mean: Positive


class EmpiricalSpec(_Spec):
    kind: Literal["empirical"]
    probs: Any = None
    """P(D = 0), P(D = 1), ...: checked entry by entry by the builder (its messages name the entry)."""
    path: Any = None
    column: Any = None


class NormalSpec(_Spec):
    kind: Literal["normal"]
    mean: NonNegative
    std: NonNegative


class UniformSpec(_Spec):
    kind: Literal["uniform"]
    low: Annotated[Whole, Field(ge=0)]
    high: Annotated[Whole, Field(ge=0)]


class SeasonalSpec(_Spec):
    kind: Literal["seasonal"]
    base: Positive
    amplitude: NonNegative
    cycle: Annotated[Whole, Field(ge=1)]
    phase: Annotated[Whole, Field(ge=0)] = 0
    clip: StrictBool = False


class StepSpec(_Spec):
    kind: Literal["step"]
    before: NonNegative
    after: NonNegative
    at: Annotated[Whole, Field(ge=0)]
    noise: Literal["none", "poisson"] = "none"


class SequenceSpec(_Spec):
    """Demand written out period by period (a classroom's custom pattern, a textbook's worked example)."""

    kind: Literal["sequence"]
    values: Annotated[list[NonNegative], Field(min_length=1, max_length=MAX_SEQUENCE)]


class CsvSpec(_Spec):
    kind: Literal["csv"]
    path: Text
    column: Text
    random_start: StrictBool = False


class HistorySpec(_Spec):
    kind: Literal["history"]
    path: Text
    site: Annotated[str, Field(strict=True)] | None = None
    product: Annotated[str, Field(strict=True)] | None = None
    use: Literal["replay", "fit", "empirical"] = "replay"
    random_start: StrictBool = False


SPECS: dict[str, type[_Spec]] = {
    "poisson": PoissonSpec, "negative_binomial": NegativeBinomialSpec, "geometric": GeometricSpec,
    "empirical": EmpiricalSpec, "normal": NormalSpec, "uniform": UniformSpec, "seasonal": SeasonalSpec,
    "step": StepSpec, "sequence": SequenceSpec, "csv": CsvSpec, "history": HistorySpec,
}
"""Every demand kind and its declaration, in the order messages list them."""

DemandSpec = Annotated[
    PoissonSpec | NegativeBinomialSpec | GeometricSpec | EmpiricalSpec | NormalSpec | UniformSpec | SeasonalSpec
    | StepSpec | SequenceSpec | CsvSpec | HistorySpec,
    Field(discriminator="kind"),
]
"""A demand block: the union of the kinds, told apart by ``kind``."""
_ADAPTER: TypeAdapter[Any] = TypeAdapter(DemandSpec)


def read_demand_spec(spec: Any, where: str) -> Any:
    """Validate a demand block; a failure is one :class:`ConfigError` line naming ``where`` and the field."""
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: must be a mapping such as {{kind: poisson, mean: 5}} (got {spec!r})")
    spec = dict(spec)
    if spec.get("kind") not in SPECS:
        raise ConfigError(f"{where}: field 'kind' must be one of {', '.join(SPECS)} (got {spec.get('kind')!r})")
    try:
        return _ADAPTER.validate_python(spec)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        parts = [p for p in error["loc"] if not is_type_tag(p) and p != spec["kind"]]
        raise ConfigError(f"{where}: {field_message(error, SPECS[spec['kind']], parts, noun='field')}") from None
