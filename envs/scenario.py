"""Scenarios: a supply network, its costs, demand and horizon, read from YAML.

The format (see ``configs/scenarios/*.yaml`` and the README) lists sites
downstream first: index 0 is the most downstream site, and every site's
supplier is listed after it. Every site has at most one supplier (serial chains
and distribution trees); a site with no supplier orders from an outside supplier
with unlimited stock.

Every error names the file, the site and the field, e.g.
``configs/scenarios/x.yaml: site 'retailer': field 'lead_time' must be ...``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from echelon.envs.demand import DemandModel, build_demand
from echelon.envs.errors import ConfigError
from echelon.envs.information import AdvanceDemand, CentralView, Information
from echelon.envs.limits import MAX_LEAD_TIME, MAX_MAGNITUDE, MAX_PERIODS, MAX_SITES

LAG_WHY = "the core keeps one pipeline slot per period of delay"
PERIODS_WHY = "an episode's random inputs are drawn up front, periods x copies x sites"

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "configs" / "scenarios"

TOP_KEYS = {
    "name", "description", "periods", "timing", "lead_time_convention", "pipeline_holding", "allocation",
    "sites", "demand", "information",
}
REQUIRED_TOP = ("periods", "sites", "demand")
SITE_KEYS = {
    "name", "supplier", "lead_time", "order_delay", "holding_cost", "backlog_cost",
    "lost_sales_cost", "unmet", "initial_inventory", "initial_pipeline", "capacity",
    "order_cost", "fixed_order_cost", "priority", "max_order",
}
REQUIRED_SITE = ("name", "lead_time", "holding_cost")
ALLOCATION_RULES = ("proportional", "priority")
TIMINGS = ("clark_scarf", "board_game")
"""The two orders of events in a period (:mod:`envs.core`): ``clark_scarf`` (suppliers ship from the
previous period's stock) and ``board_game`` (sites receive, then fill orders from stock that includes
this period's receipts)."""
LEAD_TIME_CONVENTIONS = {"echelon": 0, "zipkin": 1}
"""How a source counts lead times, mapped to Echelon's [L] by adding the number given here.

Echelon's ``lead_time: L``: an order placed at the end of period t is on hand at the start of period
t + L, so it covers the demand of L periods. Zipkin (2008), "Old and new methods for lost-sales
inventory systems" (Operations Research 56(5)), and the lost-sales literature that follows him
(Xin 2021; Gijsbrechts et al. 2022) order at the start of a period, before its demand, and an order
placed then arrives L periods later: it covers L + 1 periods of demand. So Zipkin's L is Echelon's
L + 1. This table is the one place that mapping is written down."""


@dataclass(frozen=True)
class LeadTime:
    """Shipping lead time [L] of the lane into a site: fixed, or drawn per shipment.

    An order placed at the end of period t, shipped at once by an in-stock
    supplier, is on hand at the start of period t + L, in time for that period's
    demand; so L >= 1. A random lead time draws L from ``values`` with
    probabilities ``probs`` for every shipment independently (shipments may cross).
    """

    values: tuple[int, ...]
    probs: tuple[float, ...] = (1.0,)

    @property
    def fixed(self) -> bool:
        return len(self.values) == 1

    @property
    def max(self) -> int:
        return max(self.values)

    @property
    def mean(self) -> float:
        return float(sum(v * p for v, p in zip(self.values, self.probs, strict=True)))


@dataclass(frozen=True)
class Site:
    """One site (stage, echelon member) of the network; symbols as in Snyder & Shen ch. 6."""

    name: str
    supplier: str | None
    lead_time: LeadTime
    holding_cost: float  # [h'] local, per unit on hand per period
    shortage_cost: float  # [p] per unit backlogged per period, or per unit of lost sale
    lost_sales: bool  # unmet demand is lost (True) or backlogged (False)
    order_delay: int = 0  # order-transmission delay in periods [l_o]
    initial_inventory: float = 0.0
    initial_pipeline: float = 0.0  # units per period already flowing in every pipeline slot
    capacity: float = math.inf  # most a site can order per period [C]; larger orders are cut
    order_cost: float = 0.0  # per unit ordered [c]
    fixed_order_cost: float = 0.0  # per order placed [K]
    priority: int = 0  # allocation rank among its supplier's customers (lower first)
    max_order: float | None = None  # upper bound of the order actions, if set


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. ``sites[0]`` is the most downstream site."""

    name: str
    periods: int  # episode horizon [T]
    sites: tuple[Site, ...]
    demand: Mapping[str, DemandModel]  # per customer-facing site
    pipeline_holding: bool = False
    allocation: str = "proportional"
    timing: str = "clark_scarf"  # one of TIMINGS
    information: Information = field(default_factory=Information)  # who may know what (envs.information)
    description: str = ""
    source: str = "<dict>"
    extra: Mapping[str, Any] = field(default_factory=dict)

    @cached_property
    def site_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.sites)

    @cached_property
    def _index(self) -> dict[str, int]:
        return {s.name: i for i, s in enumerate(self.sites)}

    @cached_property
    def _customers(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {s.name: [] for s in self.sites}
        for s in self.sites:
            if s.supplier is not None:
                out[s.supplier].append(s.name)
        return {k: tuple(v) for k, v in out.items()}

    def index(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise ValueError(f"{name!r} is not a site of scenario '{self.name}'") from None

    def customers(self, name: str) -> tuple[str, ...]:
        return self._customers.get(name, ())

    def mean_demand_through(self, name: str) -> float:
        """Mean demand per period flowing through a site: its own plus its customers'."""
        own = self.demand[name].mean if name in self.demand else 0.0
        return own + sum(self.mean_demand_through(c) for c in self.customers(name))

    def is_serial(self) -> bool:
        """One customer-facing site at index 0, and each site supplies the one before it."""
        return list(self.demand) == [self.sites[0].name] and all(
            s.supplier == (self.sites[i + 1].name if i + 1 < len(self.sites) else None)
            for i, s in enumerate(self.sites)
        )

    def with_periods(self, periods: int) -> Scenario:
        return replace(self, periods=whole_number(periods, f"{self.source}: periods", 1, MAX_PERIODS, PERIODS_WHY))


# --------------------------------------------------------------------------- loading

def available_scenarios() -> list[str]:
    """Names of the built-in scenarios (file stems in ``configs/scenarios``)."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def resolve_yaml(name_or_path: str | Path, folder: Path, noun: str) -> Path:
    """A built-in config name (a file stem in ``folder``) or a path to a YAML file; ``noun`` names the kind."""
    text = str(name_or_path)
    path = Path(text)
    if path.suffix in (".yaml", ".yml") or "/" in text or path.exists():
        if not path.is_file():
            raise ConfigError(f"{text}: {noun} file not found")
        return path
    builtin = folder / f"{text}.yaml"
    if not builtin.is_file():
        known = ", ".join(sorted(p.stem for p in folder.glob("*.yaml")))
        raise ConfigError(f"unknown {noun} '{text}' (built-in: {known}; or give a YAML path)")
    return builtin


def resolve_scenario_path(name_or_path: str | Path) -> Path:
    """A built-in scenario name (``beer_game``) or a path to a YAML file."""
    return resolve_yaml(name_or_path, SCENARIO_DIR, "scenario")


def whole_number(value: Any, where: str, minimum: int, maximum: int | None = None, why: str = "") -> int:
    """A config value that must be a whole number in [``minimum``, ``maximum``]; else a ConfigError
    naming ``where`` (and ``why`` the maximum exists, see :mod:`envs.limits`)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{where} must be a whole number >= {minimum} (got {value!r})")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{where} must be at most {maximum:,}{f' ({why})' if why else ''} (got {value:,})")
    return value


_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictLoader(_Base):  # type: ignore[misc,valid-type]
    """YAML's safe loader (libyaml's when present: a 10,000-site file loads in about a second), but
    numbers as YAML 1.2 reads them (``1e3`` and ``1e308`` are floats, not strings as in YAML 1.1) and
    a key given twice in one mapping is an error naming the line instead of silently the last."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: SafeConstructor reports it
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} given twice in one mapping", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; unreadable or malformed files raise ConfigError naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read file ({exc.__class__.__name__})") from None
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a safe loader (CSafeLoader's subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}:{where}: malformed YAML ({problem})") from None


def load_scenario(spec: str | Path | Mapping[str, Any] | Scenario) -> Scenario:
    """Load and validate a scenario from a built-in name, a YAML path or a mapping."""
    if isinstance(spec, Scenario):
        return spec
    if isinstance(spec, Mapping):
        return parse_scenario(spec, source="<dict>", base_dir=Path.cwd())
    path = resolve_scenario_path(spec)
    return parse_scenario(read_yaml(path), source=str(path), base_dir=path.parent, default_name=path.stem)


def parse_scenario(raw: Any, source: str, base_dir: Path, default_name: str = "scenario") -> Scenario:
    """Validate a scenario mapping (as read from YAML) and build a :class:`Scenario`."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: a scenario must be a YAML mapping with keys {', '.join(REQUIRED_TOP)}")
    _check_keys(raw, TOP_KEYS, REQUIRED_TOP, source, "key")
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{source}: key 'name' must be a non-empty string")
    periods = whole_number(raw["periods"], f"{source}: key 'periods'", 1, MAX_PERIODS, PERIODS_WHY)
    timing = raw.get("timing", "clark_scarf")
    if timing not in TIMINGS:
        raise ConfigError(f"{source}: key 'timing' must be one of {', '.join(TIMINGS)} (got {timing!r})")
    convention = raw.get("lead_time_convention", "echelon")
    if convention not in LEAD_TIME_CONVENTIONS:
        raise ConfigError(f"{source}: key 'lead_time_convention' must be one of "
                          f"{', '.join(LEAD_TIME_CONVENTIONS)} (got {convention!r})")
    pipeline_holding = raw.get("pipeline_holding", False)
    if not isinstance(pipeline_holding, bool):
        raise ConfigError(f"{source}: key 'pipeline_holding' must be true or false")
    allocation = raw.get("allocation", "proportional")
    if allocation not in ALLOCATION_RULES:
        raise ConfigError(
            f"{source}: key 'allocation' must be one of {', '.join(ALLOCATION_RULES)} (got {allocation!r})"
        )
    raw_sites = raw["sites"]
    if not isinstance(raw_sites, list) or not raw_sites:
        raise ConfigError(f"{source}: key 'sites' must be a non-empty list of sites")
    if len(raw_sites) > MAX_SITES:
        raise ConfigError(f"{source}: key 'sites': {len(raw_sites):,} sites is more than the limit of {MAX_SITES:,}")
    sites = [_parse_site(s, i, source, LEAD_TIME_CONVENTIONS[convention]) for i, s in enumerate(raw_sites)]
    names = [s.name for s in sites]
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise ConfigError(f"{source}: site '{n}': field 'name' is used twice")
        seen.add(n)
    _check_topology(sites, source)
    if timing == "board_game":
        _check_board_game_delays(sites, source)

    raw_demand = raw["demand"]
    if not isinstance(raw_demand, Mapping) or not raw_demand:
        raise ConfigError(f"{source}: key 'demand' must map customer-facing site names to demand models")
    demand: dict[str, DemandModel] = {}
    for site_name, dspec in raw_demand.items():
        if site_name not in seen:
            shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
            raise ConfigError(f"{source}: demand: no site named '{site_name}' (sites: {shown})")
        demand[site_name] = build_demand(dspec, f"{source}: demand of site '{site_name}'", base_dir)
    # order demand entries by site index so index order is the one convention
    demand = {n: demand[n] for n in names if n in demand}

    supplying = {s.supplier for s in sites if s.supplier is not None}
    for s in sites:
        if s.name not in demand and s.name not in supplying:
            raise ConfigError(
                f"{source}: site '{s.name}': no demand path (it faces no customer demand and supplies no site)"
            )
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"{source}: key 'description' must be a string")
    information = _parse_information(raw.get("information"), source)
    return Scenario(
        name=name, periods=int(periods), sites=tuple(sites), demand=demand,
        pipeline_holding=pipeline_holding, allocation=allocation, timing=timing, information=information,
        description=description,
        source=source,
    )


def _parse_information(raw: Any, source: str) -> Information:
    """The ``information`` block (:mod:`envs.information`); every error names the key."""
    if raw is None:
        return Information()
    where = f"{source}: information"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: must be a mapping with keys advance_demand and/or central")
    _check_keys(raw, {"advance_demand", "central"}, (), where, "key")
    advance = None
    if raw.get("advance_demand") is not None:
        spec = raw["advance_demand"]
        at = f"{where}: advance_demand"
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{at}: must be a mapping with keys notice, rate, lift")
        _check_keys(spec, {"notice", "rate", "lift"}, ("notice", "rate", "lift"), at, "key")
        rate, lift = spec["rate"], spec["lift"]
        if not _is_number(rate) or not 0 <= rate <= 1:
            raise ConfigError(f"{at}: key 'rate' must be a probability in [0, 1] (got {rate!r})")
        if not _is_number(lift) or lift < 0:
            raise ConfigError(f"{at}: key 'lift' must be a number >= 0 (got {lift!r})")
        advance = AdvanceDemand(whole_number(spec["notice"], f"{at}: key 'notice'", 0, MAX_LEAD_TIME, LAG_WHY),
                                float(rate), float(lift))
    central = CentralView()
    if raw.get("central") is not None:
        spec = raw["central"]
        at = f"{where}: central"
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{at}: must be a mapping with keys delay, record_error, review_period")
        _check_keys(spec, {"delay", "record_error", "review_period"}, (), at, "key")
        error = spec.get("record_error", 0.0)
        if not _is_number(error) or error < 0:
            raise ConfigError(f"{at}: key 'record_error' must be a number >= 0 (got {error!r})")
        central = CentralView(whole_number(spec.get("delay", 0), f"{at}: key 'delay'", 0, MAX_LEAD_TIME, LAG_WHY),
                              float(error),
                              whole_number(spec.get("review_period", 1), f"{at}: key 'review_period'", 1,
                                           MAX_PERIODS, PERIODS_WHY))
    return Information(advance, central)


def _check_keys(raw: Mapping[str, Any], allowed: set[str], required: tuple[str, ...], where: str, noun: str) -> None:
    """Reject unknown keys and report the first missing required one."""
    for key in raw:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown {noun} '{key}' (allowed: {', '.join(sorted(allowed))})")
    for key in required:
        if key not in raw:
            raise ConfigError(f"{where}: missing {noun} '{key}'")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _parse_site(raw: Any, i: int, source: str, lead_shift: int = 0) -> Site:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: sites[{i}]: must be a mapping with keys {', '.join(REQUIRED_SITE)}")
    label = f"site '{raw['name']}'" if isinstance(raw.get("name"), str) else f"sites[{i}]"
    where = f"{source}: {label}"
    _check_keys(raw, SITE_KEYS, REQUIRED_SITE, where, "field")
    name = raw["name"]
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: field 'name' must be a non-empty string")

    def number(key: str, default: float, *, positive: bool = False) -> float:
        value = raw.get(key, default)
        if not _is_number(value):
            raise ConfigError(f"{where}: field '{key}' must be a finite number (got {value!r})")
        if value < 0 or (positive and value == 0):
            op = "> 0" if positive else ">= 0"
            raise ConfigError(f"{where}: field '{key}' must be {op} (got {value!r})")
        if value > MAX_MAGNITUDE:
            raise ConfigError(f"{where}: field '{key}' must be at most {MAX_MAGNITUDE:g} (costs and quantities are "
                              f"summed in float64 over sites and periods; got {value!r})")
        return float(value)

    def whole(key: str, default: int, minimum: int, maximum: int | None = None, why: str = "") -> int:
        return whole_number(raw.get(key, default), f"{where}: field '{key}'", minimum, maximum, why)

    supplier = raw.get("supplier")
    if supplier is not None and (not isinstance(supplier, str) or not supplier):
        raise ConfigError(f"{where}: field 'supplier' must be a site name or null (got {supplier!r})")
    unmet = raw.get("unmet", "backlog")
    if unmet not in ("backlog", "lost"):
        raise ConfigError(f"{where}: field 'unmet' must be 'backlog' or 'lost' (got {unmet!r})")
    lost = unmet == "lost"
    if lost and "backlog_cost" in raw:
        raise ConfigError(f"{where}: field 'backlog_cost' is for backlog sites; use 'lost_sales_cost' with unmet: lost")
    if not lost and "lost_sales_cost" in raw:
        raise ConfigError(f"{where}: field 'lost_sales_cost' needs unmet: lost (this site backlogs)")
    shortage = number("lost_sales_cost" if lost else "backlog_cost", 0.0)
    capacity = raw.get("capacity")
    cap = math.inf if capacity is None else number("capacity", 0.0, positive=True)
    max_order = raw.get("max_order")
    return Site(
        name=name,
        supplier=supplier,
        lead_time=_parse_lead_time(raw["lead_time"], where, lead_shift),
        holding_cost=number("holding_cost", 0.0),
        shortage_cost=shortage,
        lost_sales=lost,
        order_delay=whole("order_delay", 0, 0, MAX_LEAD_TIME, LAG_WHY),
        initial_inventory=number("initial_inventory", 0.0),
        initial_pipeline=number("initial_pipeline", 0.0),
        capacity=cap,
        order_cost=number("order_cost", 0.0),
        fixed_order_cost=number("fixed_order_cost", 0.0),
        priority=whole("priority", i, 0, MAX_SITES),
        max_order=None if max_order is None else number("max_order", 0.0, positive=True),
    )


def _parse_lead_time(raw: Any, where: str, shift: int = 0) -> LeadTime:
    """The lane's lead time in Echelon's convention; ``shift`` is the scenario's convention offset."""
    low = 1 - shift  # the smallest lead time the scenario's convention can state
    hint = ("an order placed at the end of period t arrives at the start of period t + L, so L >= 1" if not shift
            else "in Zipkin's convention an order covers L + 1 periods of demand, so L >= 0")
    if _is_int(raw):
        if raw < low:
            raise ConfigError(f"{where}: field 'lead_time' must be a whole number >= {low} (got {raw}; {hint})")
        whole_number(raw, f"{where}: field 'lead_time'", low, MAX_LEAD_TIME, LAG_WHY)
        return LeadTime((int(raw) + shift,))
    if isinstance(raw, Mapping):
        values, probs = raw.get("values"), raw.get("probs")
        unknown = set(raw) - {"values", "probs"}
        if unknown or not isinstance(values, list) or not isinstance(probs, list):
            raise ConfigError(f"{where}: field 'lead_time' must be a whole number or {{values: [..], probs: [..]}}")
        if not values or len(values) != len(probs):
            raise ConfigError(f"{where}: field 'lead_time': values and probs must be non-empty and of equal length")
        if not all(_is_int(v) and v >= low for v in values):
            raise ConfigError(f"{where}: field 'lead_time': values must be whole numbers >= {low} ({hint})")
        for v in values:
            whole_number(v, f"{where}: field 'lead_time': a value", low, MAX_LEAD_TIME, LAG_WHY)
        if not all(_is_number(p) and p >= 0 for p in probs) or abs(sum(probs) - 1.0) > 1e-9:
            raise ConfigError(f"{where}: field 'lead_time': probs must be >= 0 and sum to 1 (got {probs})")
        return LeadTime(tuple(int(v) + shift for v in values), tuple(float(p) for p in probs))
    raise ConfigError(f"{where}: field 'lead_time' must be a whole number >= {low} (got {raw!r})")


def _check_board_game_delays(sites: list[Site], source: str) -> None:
    """Board-game timing: an order reaches an internal supplier in a later period, so ``order_delay >= 1``."""
    for s in sites:
        if s.supplier is not None and s.order_delay < 1:
            raise ConfigError(
                f"{source}: site '{s.name}': field 'order_delay' must be >= 1 with timing: board_game "
                f"(a site fills orders before it decides, so an order placed at a period's end reaches "
                f"'{s.supplier}' in a later period; use timing: clark_scarf for orders that reach it at once)"
            )


def _check_topology(sites: list[Site], source: str) -> None:
    """Suppliers exist, no site supplies itself, no supply cycle, suppliers listed after customers.

    Linear in the number of sites: each site's supplier chain is walked once (a site already known
    to end at an outside supplier stops the walk), so a 10,000-site chain validates in milliseconds.
    """
    index = {s.name: i for i, s in enumerate(sites)}
    for s in sites:
        if s.supplier is not None and s.supplier not in index:
            shown = ", ".join(list(index)[:20]) + (", ..." if len(index) > 20 else "")
            raise ConfigError(f"{source}: site '{s.name}': field 'supplier': no site named '{s.supplier}' "
                              f"(sites: {shown})")
        if s.supplier == s.name:
            raise ConfigError(f"{source}: site '{s.name}': field 'supplier': a site cannot supply itself")
    ends_outside: set[str] = set()
    for s in sites:
        path, on_path, cur = [s.name], {s.name}, s.supplier
        while cur is not None and cur not in ends_outside:
            if cur in on_path:
                cycle = " -> ".join([*path[path.index(cur):], cur])
                raise ConfigError(f"{source}: site '{s.name}': field 'supplier': supply cycle {cycle}")
            path.append(cur)
            on_path.add(cur)
            cur = sites[index[cur]].supplier
        ends_outside.update(path)
    for i, s in enumerate(sites):
        if s.supplier is not None and index[s.supplier] < i:
            raise ConfigError(
                f"{source}: site '{s.name}': field 'supplier': '{s.supplier}' must be listed after "
                f"'{s.name}' (sites are listed downstream first)"
            )
