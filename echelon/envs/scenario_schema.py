"""The scenario file format, declared once: every key, its type, its range and what it means.

:func:`envs.scenario.parse_scenario` validates a YAML mapping against :class:`ScenarioFile`, then
checks what spans several keys (supplier names and cycles, the order sites are listed in, demand
paths, the lead-time convention's minimum). Failures are one line naming the file, the site by its
name and the field, e.g. ``net.yaml: site 'retailer': field 'holding_cost' must be >= 0 (got -1)``.
Demand models are declared in :mod:`envs.demand`, one builder per ``kind``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from echelon.envs.errors import ConfigError
from echelon.envs.limits import MAX_LEAD_TIME, MAX_MAGNITUDE, MAX_PERIODS, MAX_SITES
from echelon.envs.validation import FileName, Float, Int, NodeName, PrintableName, Why, field_message, is_type_tag

LAG_WHY = "the core keeps one pipeline slot per period of delay"
PERIODS_WHY = "an episode's random inputs are drawn up front, periods x copies x sites"
MAGNITUDE_WHY = "costs and quantities are summed in float64 over sites and periods"
SITES_WHY = "one batch holds copies x sites arrays"

Text = Annotated[str, Field(strict=True)]
Name = PrintableName
Money = Annotated[Float, Field(ge=0.0, le=MAX_MAGNITUDE), Why(MAGNITUDE_WHY)]
Quantity = Money
Positive = Annotated[Float, Field(gt=0.0, le=MAX_MAGNITUDE), Why(MAGNITUDE_WHY)]
Lag = Annotated[Int, Field(ge=0, le=MAX_LEAD_TIME), Why(LAG_WHY)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)


class RandomLeadTime(_Strict):
    """A lead time drawn per shipment."""

    values: Annotated[list[Int], Field(min_length=1)]
    """The possible lead times, whole periods."""
    probs: Annotated[list[Annotated[Float, Field(ge=0.0)]], Field(min_length=1)]
    """Their probabilities (>= 0, summing to 1)."""


class SiteProductSpec(_Strict):
    """What differs for one product at one site; every field left out is the product's or the site's."""

    lead_time: Int | RandomLeadTime | None = None
    """The lane's lead time for this product (as a site's ``lead_time``)."""
    order_delay: Lag | None = None
    """Order-transmission delay l_o in periods."""
    holding_cost: Money | None = None
    """h': cost per unit on hand per period."""
    backlog_cost: Money | None = None
    """p: cost per unit backlogged per period (unmet: backlog)."""
    lost_sales_cost: Money | None = None
    """p: cost per unit of lost sale (unmet: lost)."""
    initial_inventory: Quantity | None = None
    """Units on hand at the start."""
    initial_pipeline: Quantity | None = None
    """Units per period already flowing in every pipeline slot into the site."""
    capacity: Positive | None = None
    """C: the most the site can order of this product per period."""
    order_cost: Money | None = None
    """c: cost per unit ordered."""
    fixed_order_cost: Money | None = None
    """K: cost per order placed."""
    max_order: Positive | None = None
    """Upper bound of the order actions."""


class ProductSpec(SiteProductSpec):
    """One product of a multi-product scenario: which sites stock it and what is its own.

    Every site that stocks a product is a node of the network for it (named ``site/product``), with
    the site's values unless the product (here) or the site (its ``products``) gives its own. Costs
    per unit are the site's times ``cost_scale`` (a product worth twice as much costs twice as much
    to hold) unless given here in full.
    """

    name: NodeName
    """The product's name, unique in the scenario (no '/')."""
    sites: Annotated[list[Name], Field(min_length=1)] | None = None
    """The sites that stock it (default: every site); a site's supplier must stock it too."""
    demand: Any = None
    """Its demand model at every node (site, product) without customers and without a ``demand`` entry."""
    cost_scale: Positive = 1.0
    """Multiplies every site's holding, shortage and ordering costs for this product."""


class SiteSpec(_Strict):
    """One site of the network (Snyder & Shen ch. 6 symbols)."""

    name: NodeName
    """The site's name, unique in the scenario (printable, no '/')."""
    supplier: Name | None = None
    """The site it orders from, listed after it (null: an outside supplier with unlimited stock)."""
    lead_time: Int | RandomLeadTime
    """A whole number of periods L (an order placed at the end of period t arrives at the start of t + L,
    so L >= 1; L >= 0 with lead_time_convention: zipkin) or {values: [..], probs: [..]}."""
    order_delay: Lag = 0
    """Order-transmission delay l_o in periods."""
    holding_cost: Money
    """h': cost per unit on hand per period."""
    backlog_cost: Money | None = None
    """p: cost per unit backlogged per period (unmet: backlog)."""
    lost_sales_cost: Money | None = None
    """p: cost per unit of lost sale (unmet: lost)."""
    unmet: Literal["backlog", "lost"] = "backlog"
    """What happens to demand not met from stock: backlog or lost."""
    initial_inventory: Quantity = 0.0
    """Units on hand at the start."""
    initial_pipeline: Quantity = 0.0
    """Units per period already flowing in every pipeline slot into the site."""
    capacity: Positive | None = None
    """C: the most the site can order per period (null: unlimited)."""
    order_cost: Money = 0.0
    """c: cost per unit ordered."""
    fixed_order_cost: Money = 0.0
    """K: cost per order placed."""
    priority: Annotated[Int, Field(ge=0, le=MAX_SITES)] | None = None
    """Allocation rank among its supplier's customers, lower first (default: the site's index)."""
    max_order: Positive | None = None
    """Upper bound of the order actions (null: from mean demand and lead time)."""
    products: dict[Name, SiteProductSpec] = {}
    """Per-product values at this site, by product name (needs the scenario's ``products``); any field
    given here replaces the site's own and the product's for that (site, product) pair."""


class AdvanceDemandSpec(_Strict):
    """Extra demand some sites learn of ahead of time (envs.information)."""

    notice: Lag
    """Periods ahead the extra demand is known."""
    rate: Annotated[Float, Field(ge=0.0, le=1.0)]
    """Chance that a period carries extra demand, a probability."""
    lift: Annotated[Float, Field(ge=0.0, le=MAX_MAGNITUDE)]
    """Mean of the extra demand as a multiple of the site's mean demand, >= 0."""


class CentralViewSpec(_Strict):
    """What a central planner sees (envs.information)."""

    delay: Lag = 0
    """Periods the planner's data lag behind."""
    record_error: Annotated[Float, Field(ge=0.0, le=MAX_MAGNITUDE)] = 0.0
    """Standard deviation of the record errors, as a multiple of mean demand, >= 0."""
    review_period: Annotated[Int, Field(ge=1, le=MAX_PERIODS), Why(PERIODS_WHY)] = 1
    """Periods between the planner's reviews."""


class LocalSkillSpec(_Strict):
    """How well the sites carry out their own ordering rules (envs.information)."""

    skill: Annotated[Float, Field(ge=0.0, le=1.0)] = 1.0
    """1: exactly; below 1 a site counts only this share of its stock on order and its target errs by
    (1 - skill) x its mean demand (a standard normal draw)."""


class InformationSpec(_Strict):
    """Who may know what: advance demand, the central planner's view, the sites' skill."""

    advance_demand: AdvanceDemandSpec | None = None
    """Extra demand known ahead (notice, rate, lift)."""
    central: CentralViewSpec | None = None
    """The planner's data delay, record error and review period."""
    local: LocalSkillSpec | None = None
    """How well the sites carry out their own ordering rules (skill)."""


class CapacitySpec(_Strict):
    """A bottleneck several sites share: the most their orders may total in a period."""

    name: Name
    """The bottleneck's name (a production line, a warehouse's receiving dock, a truck)."""
    sites: Annotated[list[Name], Field(min_length=1)]
    """The sites whose orders it carries (the order of the list is their priority)."""
    limit: Positive
    """The most their orders may total per period, units."""
    rule: Literal["proportional", "priority"] = "proportional"
    """How orders over the limit are cut: in proportion (whole units where demand is whole: shares
    rounded down, the units left to the sites in list order), or in list order, each in full while
    the limit lasts."""
    overtime: Quantity = 0.0
    """Units per period the bottleneck can carry above its limit at overtime_cost each (an extra
    shift, an expedited truck); orders are cut to limit + overtime."""
    overtime_cost: Money = 0.0
    """Cost per unit carried above the limit, charged to the sites in proportion to their orders."""


class ScenarioFile(_Strict):
    """A scenario file: sites listed downstream first, their costs, demand and horizon."""

    name: FileName | None = None
    """The scenario's name (default: the file's stem); it names output files, so one plain name."""
    description: Text = ""
    """What the scenario is and where it comes from."""
    periods: Annotated[Int, Field(ge=1, le=MAX_PERIODS), Why(PERIODS_WHY)]
    """T: periods per episode."""
    timing: Literal["clark_scarf", "board_game"] = "clark_scarf"
    """The order of events in a period (envs.core)."""
    lead_time_convention: Literal["echelon", "zipkin"] = "echelon"
    """How the file counts lead times (echelon: L >= 1; zipkin: Zipkin's L, which is Echelon's L - 1)."""
    pipeline_holding: StrictBool = False
    """Charge holding cost on units in transit too."""
    allocation: Literal["proportional", "priority"] = "proportional"
    """How a short supplier shares its stock among customers."""
    sites: Annotated[list[SiteSpec], Field(min_length=1, max_length=MAX_SITES), Why(SITES_WHY)]
    """The sites, the most downstream first; each one's supplier is listed after it."""
    demand: dict[Name, Any] = {}
    """Customer-facing site names mapped to demand models (envs.demand); may be empty only where the
    products give the demand."""
    information: InformationSpec | None = None
    """Who may know what (advance demand, the central planner's view)."""
    capacities: list[CapacitySpec] = []
    """Bottlenecks shared by several sites' orders, applied in list order after each site's own capacity."""
    joint_order_cost: Money = 0.0
    """K_0: a fixed cost per purchase order to the outside supplier, charged once in a period in which
    any site without a supplier orders (one consolidated order, split equally among the sites on it: the
    major setup cost of the joint replenishment problem); a site's own fixed_order_cost is charged on top."""
    products: list[ProductSpec] = []
    """The products (empty: one product, each site a node). With products, each site stocks the
    products that list it, every (site, product) pair is a node named ``site/product``, ``demand`` keys
    are a site (each of its products draws from that model independently) or ``site/product``, and a
    capacity's ``sites`` name sites (all their products) or ``site/product`` pairs."""


def read_scenario_file(raw: Mapping[str, Any], source: str) -> ScenarioFile:
    """Validate a scenario mapping against :class:`ScenarioFile`; one ConfigError line on failure."""
    try:
        return ScenarioFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_located(exc, raw)}") from None


def _located(exc: ValidationError, raw: Mapping[str, Any]) -> str:
    """The first error, located as a person reads the file: ``site 'retailer': field 'lead_time' ...``."""
    error = exc.errors(include_url=False)[0]
    parts = [p for p in error["loc"] if not is_type_tag(p)]
    union = len(parts) < len(error["loc"])
    if parts[:1] == ["sites"] and len(parts) == 2 and isinstance(parts[1], int):
        return f"sites[{parts[1]}]: must be a mapping with fields {', '.join(REQUIRED_SITE)}, ... " \
               f"(got {error['input']!r})"
    where, noun, model, parts = _place(parts, raw)
    return where + field_message(error, model, parts, union, noun)


LISTS = {"sites": ("site", SiteSpec), "capacities": ("capacity", CapacitySpec), "products": ("product", ProductSpec)}
"""The scenario's lists of named entries: how an error inside one names it, and the entry's model."""


def _entry_name(raw: Mapping[str, Any], key: str, i: int, noun: str) -> str:
    """``site 'retailer': `` for entry ``i`` of list ``key`` with a name, else ``sites[i]: ``."""
    entry = raw[key][i] if isinstance(raw.get(key), list) else None
    name = entry.get("name") if isinstance(entry, Mapping) else None
    return f"{noun} '{name}': " if isinstance(name, str) and name.strip() else f"{key}[{i}]: "


def _place(parts: list[Any], raw: Mapping[str, Any]) -> tuple[str, str, type[BaseModel], list[Any]]:
    """Where an error's location points in the file (``site 'retailer': ``), whether it is a key or a field,
    the model declaring it, and the rest of the location."""
    head = parts[0] if parts else None
    if head in LISTS and len(parts) >= 3 and isinstance(parts[1], int):
        noun, model = LISTS[head]
        where, parts = _entry_name(raw, head, parts[1], noun), parts[2:]
        if head == "sites" and parts[:1] == ["products"] and len(parts) >= 3:
            return f"{where}product '{parts[1]}': ", "field", SiteProductSpec, parts[2:]
        return where, "field", model, parts
    if head == "information" and len(parts) >= 3:
        model = AdvanceDemandSpec if parts[1] == "advance_demand" else CentralViewSpec
        return f"information: {parts[1]}: ", "key", model, parts[2:]
    if head == "information" and len(parts) == 2:
        return "information: ", "key", InformationSpec, parts[1:]
    return "", "key", ScenarioFile, parts


REQUIRED_SITE = tuple(k for k, f in SiteSpec.model_fields.items() if f.is_required())
