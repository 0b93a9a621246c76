"""Products as nodes: a multi-product scenario compiled to a network of (site, product) nodes.

A scenario that lists ``products`` is, for the core, a network whose nodes are the pairs
(site, product) that exist, named ``site/product``: node ``store/p`` orders from ``dc/p``,
holds, backlogs and costs on its own, and draws its own demand. Products interact only
through shared capacities (a plant's line, a warehouse's dock), which name nodes. So every
shell, policy, metric and report that works on sites works on a multi-product network
unchanged, with one node per site and product, and a one-product scenario (no ``products``)
is exactly what it was.

Values for a node, most specific first: the site's ``products: {p: {...}}`` entry, the
product's own field, the site's field (costs times the product's ``cost_scale``).
Demand for a node: ``demand['site/p']``, else ``demand['site']`` (each product drawing from
that model independently), else, at a node without customers, the product's ``demand``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from echelon.envs.errors import ConfigError
from echelon.envs.scenario_schema import CapacitySpec, ProductSpec, ScenarioFile, SiteProductSpec, SiteSpec

SEPARATOR = "/"
"""Between a site's and a product's name in a node's name: ``store-1/lager``."""

_COSTS = ("holding_cost", "backlog_cost", "lost_sales_cost", "order_cost", "fixed_order_cost")
_VALUES = tuple(SiteProductSpec.model_fields)


@dataclass(frozen=True)
class DemandEntry:
    """A node's demand spec and the (site, product) a ``kind: history`` series is looked up under."""

    spec: Any
    site: str
    product: str | None


@dataclass(frozen=True)
class Nodes:
    """A scenario file's network as the core sees it: nodes (sites, or site/product pairs), in index order."""

    sites: list[SiteSpec]
    demand: dict[str, DemandEntry]
    capacities: list[CapacitySpec]
    products: tuple[str, ...]


def node_name(site: str, product: str) -> str:
    return f"{site}{SEPARATOR}{product}"


def split_node(name: str, products: tuple[str, ...]) -> tuple[str, str | None]:
    """(site, product) of a node's name; product ``None`` in a one-product scenario."""
    if not products:
        return name, None
    site, _, product = name.rpartition(SEPARATOR)
    return site, product


def expand(spec: ScenarioFile, source: str) -> Nodes:
    """The nodes of a validated scenario file: its sites as they are, or one node per (site, product)."""
    if not spec.products:
        if not spec.demand:
            raise ConfigError(f"{source}: {'missing key' if 'demand' not in spec.model_fields_set else 'key'} "
                              f"'demand' must map customer-facing sites to demand models")
        for s in spec.sites:
            if s.products:
                raise ConfigError(f"{source}: site '{s.name}': field 'products' needs the scenario's "
                                  f"'products' list")
        demand = {k: DemandEntry(v, k, None) for k, v in spec.demand.items()}
        return Nodes(list(spec.sites), demand, list(spec.capacities), ())
    products = _check_products(spec, source)
    stocks = _stocking(spec, products, source)
    sites = [_node(site, products[p]) for site in spec.sites for p in products if p in stocks[site.name]]
    return Nodes(sites, _demand(spec, products, stocks, source), _capacities(spec, products, stocks, source),
                 tuple(products))


def _check_products(spec: ScenarioFile, source: str) -> dict[str, ProductSpec]:
    out: dict[str, ProductSpec] = {}
    for p in spec.products:
        if SEPARATOR in p.name:
            raise ConfigError(f"{source}: product '{p.name}': field 'name' must not contain '{SEPARATOR}'")
        if p.name in out:
            raise ConfigError(f"{source}: product '{p.name}': field 'name' is used twice")
        out[p.name] = p
    for s in spec.sites:
        if SEPARATOR in s.name:
            raise ConfigError(f"{source}: site '{s.name}': field 'name' must not contain '{SEPARATOR}' in a "
                              f"scenario with products (nodes are named site{SEPARATOR}product)")
        for p in s.products:
            if p not in out:
                raise ConfigError(f"{source}: site '{s.name}': field 'products': no product named '{p}' "
                                  f"(products: {', '.join(out)})")
    return out


def _stocking(spec: ScenarioFile, products: dict[str, ProductSpec], source: str) -> dict[str, set[str]]:
    """Site name -> the products it stocks; a site's supplier must stock them too."""
    names = {s.name for s in spec.sites}
    stocks: dict[str, set[str]] = {s.name: set() for s in spec.sites}
    for p in products.values():
        for site in p.sites if p.sites is not None else names:
            if site not in names:
                raise ConfigError(f"{source}: product '{p.name}': field 'sites': no site named '{site}'")
            stocks[site].add(p.name)
    for s in spec.sites:
        for p in s.products:
            if p not in stocks[s.name]:
                raise ConfigError(f"{source}: site '{s.name}': field 'products': '{p}' is not stocked here "
                                  f"(product '{p}' lists its sites)")
        if s.supplier is not None and s.supplier in stocks:
            missing = sorted(stocks[s.name] - stocks[s.supplier])
            if missing:
                raise ConfigError(f"{source}: site '{s.name}' stocks product '{missing[0]}' but its supplier "
                                  f"'{s.supplier}' does not (add '{s.supplier}' to the product's sites)")
        if not stocks[s.name]:
            raise ConfigError(f"{source}: site '{s.name}' stocks no product")
    return stocks


def _node(site: SiteSpec, product: ProductSpec) -> SiteSpec:
    """The node (site, product): the site's values, the product's where it gives them, the pair's own last."""
    update: dict[str, Any] = {"name": node_name(site.name, product.name), "products": {}}
    if site.supplier is not None:
        update["supplier"] = node_name(site.supplier, product.name)
    if product.cost_scale != 1.0:
        for key in _COSTS:
            value = getattr(site, key)
            if value is not None:
                update[key] = value * product.cost_scale
    for layer in (product, site.products.get(product.name)):
        if layer is not None:
            update.update({k: getattr(layer, k) for k in _VALUES if k in layer.model_fields_set})
    return site.model_copy(update=update)


def _demand(spec: ScenarioFile, products: dict[str, ProductSpec], stocks: dict[str, set[str]],
            source: str) -> dict[str, DemandEntry]:
    """Each node's demand entry, from the most specific key that gives one."""
    for key in spec.demand:
        site, _, product = key.rpartition(SEPARATOR) if SEPARATOR in key else (key, "", "")
        if site not in stocks:
            raise ConfigError(f"{source}: demand: no site named '{site}'")
        if product and product not in stocks[site]:
            raise ConfigError(f"{source}: demand: '{key}': site '{site}' does not stock product '{product}'")
    supplying = {(s.supplier, p) for s in spec.sites if s.supplier is not None for p in stocks[s.name]}
    out: dict[str, DemandEntry] = {}
    for site, product in _pairs(spec, products, stocks):
        name = node_name(site, product)
        entry = spec.demand.get(name, spec.demand.get(site))
        if entry is None and (site, product) not in supplying:
            entry = products[product].demand
        if entry is not None:
            out[name] = DemandEntry(entry, site, product)
    return out


def _pairs(spec: ScenarioFile, products: dict[str, ProductSpec],
           stocks: dict[str, set[str]]) -> Iterator[tuple[str, str]]:
    """(site, product) for every node, in index order (sites downstream first, products as listed)."""
    for s in spec.sites:
        for p in products:
            if p in stocks[s.name]:
                yield s.name, p


def _capacities(spec: ScenarioFile, products: dict[str, ProductSpec], stocks: dict[str, set[str]],
                source: str) -> list[CapacitySpec]:
    """Each bottleneck with its sites turned into nodes: a site stands for all the products it stocks."""
    out = []
    for cap in spec.capacities:
        nodes: list[str] = []
        for entry in cap.sites:
            if SEPARATOR in entry:
                site, _, product = entry.rpartition(SEPARATOR)
                if site in stocks and product not in stocks[site]:
                    raise ConfigError(f"{source}: capacity '{cap.name}': field 'sites': site '{site}' does not "
                                      f"stock product '{product}'")
                nodes.append(entry)
            elif entry in stocks:
                nodes.extend(node_name(entry, p) for p in products if p in stocks[entry])
            else:
                nodes.append(entry)  # unknown: named by the scenario's own check
        out.append(cap.model_copy(update={"sites": nodes}))
    return out
