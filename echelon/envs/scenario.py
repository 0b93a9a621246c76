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
from echelon.envs.files import read_input
from echelon.envs.information import AdvanceDemand, CentralView, Information, LocalSkill
from echelon.envs.limits import MAX_LEAD_TIME, MAX_PERIODS
from echelon.envs.products import expand, split_node
from echelon.envs.scenario_schema import (
    LAG_WHY,
    PERIODS_WHY,
    CapacitySpec,
    CentralViewSpec,
    InformationSpec,
    RandomLeadTime,
    ScenarioFile,
    SiteSpec,
    read_scenario_file,
)

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "configs" / "scenarios"
"""The built-in scenarios. The file format is declared in :mod:`envs.scenario_schema` (``ScenarioFile``):
its ``timing`` is one of the two orders of events in a period (:mod:`envs.core`), ``clark_scarf``
(suppliers ship from the previous period's stock) or ``board_game`` (sites receive, then fill orders
from stock that includes this period's receipts)."""
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
class SharedCapacity:
    """A bottleneck: the orders of ``sites`` (indices, in priority order) total at most ``limit`` per period."""

    name: str
    sites: tuple[int, ...]
    limit: float
    rule: str = "proportional"  # or "priority"
    overtime: float = 0.0  # units a period allowed above the limit, at overtime_cost each
    overtime_cost: float = 0.0

    def __repr__(self) -> str:  # (overtime fields at their defaults left out: version-1 run fingerprints hold)
        extra = f", overtime={self.overtime!r}, overtime_cost={self.overtime_cost!r}" \
            if self.overtime or self.overtime_cost else ""
        return (f"SharedCapacity(name={self.name!r}, sites={self.sites!r}, limit={self.limit!r}, "
                f"rule={self.rule!r}{extra})")


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
    capacities: tuple[SharedCapacity, ...] = field(default=(), repr=False)  # bottlenecks over sites' orders
    products: tuple[str, ...] = ()  # with products, every site is a node 'site/product' (envs.products)
    joint_order_cost: float = 0.0  # [K_0] per consolidated purchase order to the outside supplier

    def node(self, i: int) -> tuple[str, str | None]:
        """(site, product) of node ``i``; product ``None`` in a one-product scenario."""
        return split_node(self.sites[i].name, self.products)

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
        periods = whole_number(periods, f"{self.source}: periods", 1, MAX_PERIODS, PERIODS_WHY)
        check_horizon(self.demand, periods, self.source)
        return replace(self, periods=periods)


def echelon_levels(scenario: Scenario) -> list[int]:
    """Echelon of each site: 1 for customer-facing leaves, else 1 + the highest echelon among its customers."""
    level: dict[str, int] = {}
    for site in scenario.sites:  # downstream first
        below = [level[c] for c in scenario.customers(site.name)]
        level[site.name] = 1 + max(below, default=0)
    return [level[s.name] for s in scenario.sites]


# --------------------------------------------------------------------------- loading

def available_scenarios() -> list[str]:
    """Names of the built-in scenarios (file stems in ``configs/scenarios``)."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def resolve_yaml(name_or_path: str | Path, folder: Path, noun: str) -> Path:
    """A built-in config name (a file stem in ``folder``) or a path to a YAML file; ``noun`` names the kind."""
    text = str(name_or_path)
    path = Path(text)
    if path.suffix in (".yaml", ".yml") or "/" in text or path.exists():
        if not path.exists() or path.is_dir():
            raise ConfigError(f"{text}: {noun} file not found")
        return path  # (a pipe or a device is refused when read: envs.files.read_input)
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


YAML11_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("bool", "int", "float", "timestamp")}
"""The implicit types whose YAML 1.1 forms :class:`StrictLoader` replaces by the 1.2 core schema's."""


class StrictLoader(_Base):  # type: ignore[misc,valid-type]
    """YAML's safe loader (libyaml's when present: a 10,000-site file loads in about a second), reading plain
    scalars by the YAML 1.2 core schema, as the README promises, and a key given twice in one mapping is an
    error naming the line instead of silently the last.

    YAML 1.1 (PyYAML's default) reads ``010`` as 8 (octal), ``1:30`` as 90 (base 60), ``1_000`` as 1000,
    ``yes``/``no``/``on``/``off`` as booleans, ``2024-01-05`` as a date and ``1e3`` as a string. Under the
    core schema: ``010`` is 10, ``0o10`` 8 and ``0x10`` 16; ``1e3``, ``.5``, ``.inf`` and ``.nan`` are
    floats; only ``true``/``false`` (any case style) are booleans; everything else (``1:30``, ``1_000``,
    ``yes``, dates) is text, which the field then refuses with its message.
    """

    yaml_implicit_resolvers: dict[str, list[tuple[str, Any]]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in YAML11_TAGS]
        for first, resolvers in _Base.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # a complex key: SafeConstructor reports it
            key = (key_node.tag, key_node.value)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key_node.value!r} given twice in one mapping", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        text = str(self.construct_scalar(node))
        sign, digits = (-1, text[1:]) if text.startswith("-") else (1, text.lstrip("+"))
        if digits.startswith("0o"):
            return sign * int(digits[2:], 8)
        if digits.startswith("0x"):
            return sign * int(digits[2:], 16)
        return sign * int(digits, 10)

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        text = str(self.construct_scalar(node)).lower()
        if text.lstrip("+-") == ".inf":
            return -math.inf if text.startswith("-") else math.inf
        return math.nan if text == ".nan" else float(text)

    def construct_yaml_bool(self, node: yaml.ScalarNode) -> bool:
        return str(self.construct_scalar(node)).lower() == "true"


for _tag, _pattern, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    ("float", r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN"
              r"|\.NAN)$", "-+.0123456789"),
):
    StrictLoader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), list(_first))
for _tag in ("int", "float", "bool"):
    StrictLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", getattr(StrictLoader, f"construct_yaml_{_tag}"))


MAX_YAML_VALUES = 1_000_000
"""Most values a YAML file may hold once its aliases are expanded (a "billion laughs" file holds 10^9 from a
few lines; Echelon's largest built-in scenario about 10^5)."""


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; unreadable, oversized or malformed files, and aliases that expand past
    :data:`MAX_YAML_VALUES`, raise ConfigError naming the file (and line)."""
    try:
        text = read_input(path, "a YAML file").decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read file ({exc.__class__.__name__})") from None
    try:
        data = yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a safe loader (CSafeLoader's subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}:{where}: malformed YAML ({problem})") from None
    except RecursionError:
        raise ConfigError(f"{path}: YAML nested too deeply") from None
    try:
        values = expanded_size(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if values > MAX_YAML_VALUES:
        raise ConfigError(f"{path}: its aliases (*name) expand to more than {MAX_YAML_VALUES:,} values; "
                          "write the repeated parts out, or fewer of them")
    return data


def expanded_size(data: Any) -> int:
    """How many values ``data`` holds with every shared part counted each time it appears (aliases expanded),
    computed once per distinct object, so a file of nested aliases is measured without expanding it."""
    sizes: dict[int, int] = {}

    def size(value: Any, depth: int = 0) -> int:
        if not isinstance(value, dict | list):
            return 1
        key = id(value)
        if key not in sizes:
            if depth > 500:
                raise ConfigError("nested more than 500 deep")
            children = value.items() if isinstance(value, dict) else ((None, v) for v in value)
            sizes[key] = 1 + sum(size(v, depth + 1) for _, v in children)
        return sizes[key]

    return size(data)


def load_scenario(spec: str | Path | Mapping[str, Any] | Scenario) -> Scenario:
    """Load and validate a scenario from a built-in name, a YAML path or a mapping."""
    if isinstance(spec, Scenario):
        return spec
    if isinstance(spec, Mapping):
        return parse_scenario(spec, source="<dict>", base_dir=Path.cwd())
    path = resolve_scenario_path(spec)
    return parse_scenario(read_yaml(path), source=str(path), base_dir=path.parent, default_name=path.stem)


def parse_scenario(raw: Any, source: str, base_dir: Path, default_name: str = "scenario") -> Scenario:
    """Validate a scenario mapping (as read from YAML) against :class:`~envs.scenario_schema.ScenarioFile`,
    check what spans several keys, and build a :class:`Scenario`."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: a scenario must be a YAML mapping with keys periods, sites, demand")
    spec = read_scenario_file(raw, source)
    nodes = expand(spec, source)
    shift = LEAD_TIME_CONVENTIONS[spec.lead_time_convention]
    sites = [_build_site(s, i, source, shift) for i, s in enumerate(nodes.sites)]
    names = [s.name for s in sites]
    _check_names(names, spec, source)
    _check_topology(sites, source)
    if spec.timing == "board_game":
        _check_board_game_delays(sites, source)
    demand = _demand(nodes, names, base_dir, source)
    _check_within_horizon(demand, spec, source)
    supplying = {s.supplier for s in sites if s.supplier is not None}
    for s in sites:
        if s.name not in demand and s.name not in supplying:
            raise ConfigError(
                f"{source}: site '{s.name}': no demand path (it faces no customer demand and supplies no site)"
            )
    return Scenario(
        name=spec.name or default_name, periods=spec.periods, sites=tuple(sites), demand=demand,
        pipeline_holding=spec.pipeline_holding, allocation=spec.allocation, timing=spec.timing,
        information=_information(spec.information), description=spec.description, source=source,
        capacities=_capacities(nodes.capacities, {n: i for i, n in enumerate(names)}, source),
        products=nodes.products, joint_order_cost=spec.joint_order_cost,
    )


def _check_names(names: list[str], spec: ScenarioFile, source: str) -> None:
    """Every site (node) named once, and no product named like a site."""
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise ConfigError(f"{source}: site '{n}': field 'name' is used twice")
        seen.add(n)
    clash = sorted({p.name for p in spec.products} & {s.name for s in spec.sites})
    if clash:
        raise ConfigError(f"{source}: product '{clash[0]}' has the name of a site; give it its own")


def _demand(nodes: Any, names: list[str], base_dir: Path, source: str) -> dict[str, DemandModel]:
    """Each customer-facing node's demand model, in site order (the one index convention)."""
    demand: dict[str, DemandModel] = {}
    known = set(names)
    for node, entry in nodes.demand.items():
        if node not in known:
            shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
            raise ConfigError(f"{source}: demand: no site named '{node}' (sites: {shown})")
        demand[node] = build_demand(entry.spec, f"{source}: demand of site '{node}'", base_dir, entry.site,
                                    entry.product)
    return {n: demand[n] for n in names if n in demand}


def _check_within_horizon(demand: Mapping[str, DemandModel], spec: ScenarioFile, source: str) -> None:
    """What the file itself states must happen within its own horizon: histories long enough, demand steps
    and advance notice inside the episode."""
    check_horizon(demand, spec.periods, source)
    for name, model in demand.items():
        at = getattr(model, "at", None)
        if at is not None and at >= spec.periods:
            raise ConfigError(f"{source}: demand of site '{name}': the step at period {at} never comes within the "
                              f"{spec.periods} periods of an episode (periods 0 to {spec.periods - 1})")
    info = spec.information
    if info is not None and info.advance_demand is not None and info.advance_demand.notice >= spec.periods:
        raise ConfigError(f"{source}: information: advance_demand: notice {info.advance_demand.notice} is not "
                          f"shorter than the {spec.periods} periods of an episode: nothing could be known ahead")


def _capacities(specs: list[CapacitySpec], index: Mapping[str, int], source: str) -> tuple[SharedCapacity, ...]:
    """The bottlenecks, with their sites checked and turned into indices."""
    out, seen = [], set()
    for spec in specs:
        where = f"{source}: capacity '{spec.name}'"
        if spec.name in seen:
            raise ConfigError(f"{where}: field 'name' is used twice")
        seen.add(spec.name)
        for i, site in enumerate(spec.sites):
            if site not in index:
                raise ConfigError(f"{where}: field 'sites': no site named '{site}'")
            if site in spec.sites[:i]:
                raise ConfigError(f"{where}: field 'sites': '{site}' is listed twice")
        if spec.overtime_cost and not spec.overtime:
            raise ConfigError(f"{where}: field 'overtime_cost' needs 'overtime', the units a period allowed "
                              f"above the limit")
        out.append(SharedCapacity(spec.name, tuple(index[s] for s in spec.sites), spec.limit, spec.rule,
                                  spec.overtime, spec.overtime_cost))
    return tuple(out)


def check_horizon(demand: Mapping[str, DemandModel], periods: int, source: str) -> None:
    """A recorded series (``csv``, ``history``) must cover an episode: refused now, not mid-run."""
    for name, model in demand.items():
        values = getattr(model, "values", None)
        if values is not None and len(values) < periods:
            raise ConfigError(f"{source}: demand of site '{name}': {getattr(model, 'source', 'the series')} has "
                              f"{len(values)} periods, fewer than the {periods} of an episode")



def _information(spec: InformationSpec | None) -> Information:
    """The ``information`` block as :mod:`envs.information` objects."""
    if spec is None:
        return Information()
    advance = None
    if spec.advance_demand is not None:
        a = spec.advance_demand
        advance = AdvanceDemand(a.notice, a.rate, a.lift)
    c = spec.central or CentralViewSpec()
    skill = spec.local.skill if spec.local is not None else 1.0
    return Information(advance, CentralView(c.delay, c.record_error, c.review_period), LocalSkill(skill))


def _build_site(spec: SiteSpec, i: int, source: str, lead_shift: int = 0) -> Site:
    """A :class:`Site` from its declaration: the shortage cost of its kind, the lead time in Echelon's convention."""
    where = f"{source}: site '{spec.name}'"
    lost = spec.unmet == "lost"
    if lost and spec.backlog_cost is not None:
        raise ConfigError(f"{where}: field 'backlog_cost' is for backlog sites; use 'lost_sales_cost' with unmet: lost")
    if not lost and spec.lost_sales_cost is not None:
        raise ConfigError(f"{where}: field 'lost_sales_cost' needs unmet: lost (this site backlogs)")
    shortage = (spec.lost_sales_cost if lost else spec.backlog_cost) or 0.0
    return Site(
        name=spec.name, supplier=spec.supplier, lead_time=_lead_time(spec.lead_time, where, lead_shift),
        holding_cost=spec.holding_cost, shortage_cost=float(shortage), lost_sales=lost, order_delay=spec.order_delay,
        initial_inventory=spec.initial_inventory, initial_pipeline=spec.initial_pipeline,
        capacity=math.inf if spec.capacity is None else spec.capacity, order_cost=spec.order_cost,
        fixed_order_cost=spec.fixed_order_cost, priority=i if spec.priority is None else spec.priority,
        max_order=spec.max_order,
    )


def _lead_time(spec: int | RandomLeadTime, where: str, shift: int = 0) -> LeadTime:
    """The lane's lead time in Echelon's convention; ``shift`` is the scenario's convention offset."""
    low = 1 - shift  # the smallest lead time the scenario's convention can state
    hint = ("an order placed at the end of period t arrives at the start of period t + L, so L >= 1" if not shift
            else "in Zipkin's convention an order covers L + 1 periods of demand, so L >= 0")
    if isinstance(spec, int):
        if spec < low:
            raise ConfigError(f"{where}: field 'lead_time' must be a whole number >= {low} (got {spec}; {hint})")
        whole_number(spec, f"{where}: field 'lead_time'", low, MAX_LEAD_TIME, LAG_WHY)
        return LeadTime((spec + shift,))
    values, probs = spec.values, spec.probs
    if len(values) != len(probs):
        raise ConfigError(f"{where}: field 'lead_time': values and probs must be non-empty and of equal length")
    if not all(v >= low for v in values):
        raise ConfigError(f"{where}: field 'lead_time': values must be whole numbers >= {low} ({hint})")
    for v in values:
        whole_number(v, f"{where}: field 'lead_time': a value", low, MAX_LEAD_TIME, LAG_WHY)
    if abs(sum(probs) - 1.0) > 1e-9:
        raise ConfigError(f"{where}: field 'lead_time': probs must be >= 0 and sum to 1 (got {list(probs)})")
    return LeadTime(tuple(v + shift for v in values), tuple(probs))


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
