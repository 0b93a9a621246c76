"""The project's catalogue of wrong inputs, as data shared by the command-line tests
(``tests/test_bad_inputs.py``: each case through the real CLI) and the API tests (``tests/test_errors.py``:
each scenario case through ``load_scenario``): the valid bases, the mutations, the raw files, and the
message fragment each must produce."""

from __future__ import annotations

import copy
from typing import Any

DELETE = object()
"""A mutation's value that removes the key."""

SCENARIO: dict[str, Any] = {
    "name": "serial", "periods": 20,
    "sites": [
        {"name": "retailer", "supplier": "warehouse", "lead_time": 1, "holding_cost": 2, "backlog_cost": 20,
         "initial_inventory": 8},
        {"name": "warehouse", "lead_time": 2, "holding_cost": 1, "initial_inventory": 10, "initial_pipeline": 4},
    ],
    "demand": {"retailer": {"kind": "poisson", "mean": 4}},
}
TRAINING: dict[str, Any] = {
    "name": "t", "scenario": "textbook_serial", "mode": "shared", "algo": "ppo", "copies": 2, "n_timesteps": 600,
    "eval_freq": 600, "eval_episodes": 2, "checkpoint_freq": 600,
    "hyperparams": {"n_steps": 100, "batch_size": 100, "n_epochs": 1, "policy_kwargs": {"net_arch": [8]}},
}
BENCHMARK: dict[str, Any] = {
    "name": "b", "scenarios": ["textbook_serial"], "episodes": 4, "seed": 0, "baseline": "echelon",
    "policies": [{"label": "echelon", "policy": "echelon_base_stock", "levels": [6, 12, 22]},
                 {"label": "sterman", "policy": "sterman"}],
}
STUDY: dict[str, Any] = {"name": "s", "scenarios": ["two_stage"], "axes": {"delay": [0], "notice": [0], "lift": [0]},
                         "episodes": 4, "search_episodes": 4}


def mutate(tree: Any, path: str, value: Any) -> Any:
    """A copy of ``tree`` with ``path`` (``sites.0.lead_time``) set to ``value`` (``DELETE`` removes it)."""
    tree = copy.deepcopy(tree)
    *parents, last = path.split(".")
    node = tree
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    key = int(last) if isinstance(node, list) else last
    if value is DELETE:
        del node[key]
    else:
        node[key] = value
    return tree


# --------------------------------------------------------------------------- scenario mutations
# (path, value, fragment of the message)
SCENARIO_CASES: list[tuple[str, Any, str]] = [
    ("periods", 0, "key 'periods' must be >= 1 (got 0)"),
    ("periods", -5, "key 'periods' must be >= 1 (got -5)"),
    ("periods", 2.5, "'periods' must be a whole number"),
    ("periods", "many", "'periods' must be a whole number"),
    ("periods", True, "key 'periods' true/false is not a number"),
    ("periods", 1e12, "'periods' must be a whole number"),
    ("periods", 1_000_000_000_000, "'periods' must be at most 1,000,000"),
    ("periods", None, "'periods' must be a whole number"),
    ("periods", DELETE, "missing key 'periods'"),
    ("sites", DELETE, "missing key 'sites'"),
    ("demand", DELETE, "missing key 'demand'"),
    ("sites", [], "key 'sites' must have at least 1 item(s)"),
    ("sites", "retailer", "key 'sites' must be a list"),
    ("sites", {"retailer": 1}, "key 'sites' must be a list"),
    ("name", "", "'name' must be a non-empty string"),
    ("name", 7, "key 'name' must be a string (got 7)"),
    ("description", 5, "'description' must be a string"),
    ("timing", "sometimes", "key 'timing' must be 'clark_scarf' or 'board_game' (got 'sometimes')"),
    ("lead_time_convention", "mine", "key 'lead_time_convention' must be 'echelon' or 'zipkin'"),
    ("pipeline_holding", "yes", "'pipeline_holding' must be true or false"),
    ("allocation", "fair", "key 'allocation' must be 'proportional' or 'priority'"),
    ("colour", "red", "unknown key 'colour'"),
    ("joint_order_cost", -1, "key 'joint_order_cost' must be >= 0"),
    ("joint_order_cost", "lots", "'joint_order_cost' must be a number"),
    ("sites.0.lead_time", 0, "field 'lead_time' must be a whole number >= 1"),
    ("sites.0.lead_time", -1, "field 'lead_time' must be a whole number >= 1"),
    ("sites.0.lead_time", 1.5, "field 'lead_time' expected a whole number of periods L"),
    ("sites.0.lead_time", "two", "field 'lead_time' expected a whole number of periods L"),
    ("sites.0.lead_time", 1_000_000_000, "field 'lead_time' must be at most 1,000"),
    ("sites.0.lead_time", {"values": [1, 2], "probs": [0.5]}, "values and probs must be non-empty and of equal"),
    ("sites.0.lead_time", {"values": [1, 2], "probs": [0.5, 0.6]}, "probs must be >= 0 and sum to 1"),
    ("sites.0.lead_time", {"values": [0, 2], "probs": [0.5, 0.5]}, "values must be whole numbers >= 1"),
    ("sites.0.lead_time", {"values": [1, 5000], "probs": [0.5, 0.5]}, "must be at most 1,000"),
    ("sites.0.lead_time", {"values": [1]}, "or {values: [..], probs: [..]} (got {'values': [1]})"),
    ("sites.0.lead_time", DELETE, "missing field 'lead_time'"),
    ("sites.0.holding_cost", DELETE, "missing field 'holding_cost'"),
    ("sites.0.holding_cost", -1, "field 'holding_cost' must be >= 0"),
    ("sites.0.holding_cost", "cheap", "field 'holding_cost' must be a number (got 'cheap')"),
    ("sites.0.holding_cost", float("inf"), "field 'holding_cost' must be a finite number"),
    ("sites.0.holding_cost", float("nan"), "field 'holding_cost' must be a finite number"),
    ("sites.0.holding_cost", True, "field 'holding_cost' true/false is not a number"),
    ("sites.0.holding_cost", 1e300, "field 'holding_cost' must be at most 1e+09"),
    ("sites.0.backlog_cost", 1e308, "field 'backlog_cost' must be at most 1e+09"),
    ("sites.0.backlog_cost", -3, "field 'backlog_cost' must be >= 0"),
    ("sites.0.backlog_cost", [1], "field 'backlog_cost' must be a number"),
    ("sites.0.initial_inventory", -1, "field 'initial_inventory' must be >= 0"),
    ("sites.0.initial_inventory", 1e15, "field 'initial_inventory' must be at most"),
    ("sites.0.initial_pipeline", -2, "field 'initial_pipeline' must be >= 0"),
    ("sites.0.capacity", 0, "field 'capacity' must be > 0"),
    ("sites.0.capacity", "lots", "field 'capacity' must be a number"),
    ("sites.0.order_cost", -1, "field 'order_cost' must be >= 0"),
    ("sites.0.fixed_order_cost", "x", "field 'fixed_order_cost' must be a number"),
    ("sites.0.max_order", 0, "field 'max_order' must be > 0"),
    ("sites.0.order_delay", -1, "field 'order_delay' must be >= 0 (got -1)"),
    ("sites.0.order_delay", 10**9, "field 'order_delay' must be at most 1,000"),
    ("sites.0.order_delay", 0.5, "field 'order_delay' must be a whole number"),
    ("sites.0.priority", -1, "field 'priority' must be >= 0 (got -1)"),
    ("sites.0.unmet", "forgotten", "field 'unmet' must be 'backlog' or 'lost'"),
    ("sites.0.lost_sales_cost", 5, "field 'lost_sales_cost' needs unmet: lost"),
    ("sites.0.colour", "red", "unknown field 'colour'"),
    ("sites.0.name", "", "field 'name' must be a non-empty string"),
    ("sites.0.name", 5, "sites[0]: field 'name' must be a string (got 5)"),
    ("sites.0.name", DELETE, "missing field 'name'"),
    ("sites.0.name", "warehouse", "field 'name' is used twice"),
    ("sites.0.supplier", "nobody", "field 'supplier': no site named 'nobody'"),
    ("sites.0.supplier", "retailer", "a site cannot supply itself"),
    ("sites.0.supplier", 3, "field 'supplier' must be a string (got 3)"),
    ("sites.1.supplier", "retailer", "supply cycle"),
    ("sites.0", "retailer", "sites[0]: must be a mapping"),
    ("sites.1.holding_cost", -0.5, "site 'warehouse': field 'holding_cost' must be >= 0"),
    ("demand", [], "key 'demand' must be a mapping (got [])"),
    ("demand", {}, "key 'demand' must map customer-facing sites to demand models"),
    ("demand.shop", {"kind": "poisson", "mean": 3}, "demand: no site named 'shop'"),
    ("demand.retailer", "poisson", "demand of site 'retailer'"),
    ("demand.retailer.kind", "gamma", "field 'kind' must be one of"),
    ("demand.retailer.mean", -4, "field 'mean' must be"),
    ("demand.retailer.mean", "four", "field 'mean' must be a finite number"),
    ("demand.retailer.mean", 1e300, "field 'mean' must be at most 1e+09"),
    ("demand.retailer.mean", DELETE, "missing field 'mean'"),
    ("demand.retailer.spread", 2, "unknown field 'spread'"),
    ("demand.retailer", {"kind": "negative_binomial", "mean": 5}, "missing field 'cv'"),
    ("demand.retailer", {"kind": "geometric", "mean": 0}, "field 'mean' must be > 0"),
    ("demand.retailer", {"kind": "geometric", "mean": 5, "p": 0.2}, "unknown field 'p'"),
    ("demand.retailer", {"kind": "empirical"}, "give 'probs'"),
    ("demand.retailer", {"kind": "empirical", "probs": [0.5, -0.1, 0.6]}, "entry 1 must be a probability >= 0"),
    ("demand.retailer", {"kind": "empirical", "probs": "0.5 0.5"}, "field 'probs' must be a list"),
    ("demand.retailer", {"kind": "empirical", "probs": [1.0], "path": "x.csv"}, "one of the two"),
    ("demand.retailer", {"kind": "empirical", "path": "nowhere.csv", "column": "q"}, "nowhere.csv: cannot read"),
    ("demand.retailer", {"kind": "negative_binomial", "mean": 5, "cv": 0.3}, "field 'cv' must be above the Poisson"),
    ("demand.retailer", {"kind": "negative_binomial", "mean": 5, "cv": "wide"}, "field 'cv' must be a finite number"),
    ("information", {"local": {"skill": -0.5}}, "local: key 'skill' must be >= 0"),
    ("demand.retailer", {"kind": "normal", "mean": 5, "std": -1}, "field 'std' must be"),
    ("demand.retailer", {"kind": "uniform", "low": 5, "high": 2}, "demand of site 'retailer'"),
    ("demand.retailer", {"kind": "sequence", "values": []}, "field 'values'"),
    ("demand.retailer", {"kind": "sequence", "values": [4, -1] * 30}, "field 'values'"),
    ("demand.retailer", {"kind": "sequence", "values": "4 4 8"}, "field 'values'"),
    ("demand.retailer", {"kind": "sequence", "values": [4, 8]}, "the sequence has 2 periods, fewer than the"),
    ("demand.retailer", {"kind": "csv", "path": "nowhere.csv"}, "missing field 'column'"),
    ("demand.retailer", {"kind": "csv", "path": "nowhere.csv", "column": "d"}, "nowhere.csv"),
    ("information", "all", "key 'information' must be a mapping (got 'all')"),
    ("information.spies", 1, "information: unknown key 'spies'"),
    ("information.central", {"delay": -1}, "information: central: key 'delay' must be >= 0 (got -1)"),
    ("information.central", {"delay": 10**6}, "key 'delay' must be at most 1,000"),
    ("information.central", {"record_error": -0.1}, "information: central: key 'record_error' must be >= 0"),
    ("information.central", {"review_period": 0}, "information: central: key 'review_period' must be >= 1"),
    ("information.central", {"when": 1}, "unknown key 'when'"),
    ("information.advance_demand", {"notice": 1, "rate": 2, "lift": 1},
     "information: advance_demand: key 'rate' must be at most 1"),
    ("information.advance_demand", {"notice": -1, "rate": 0.5, "lift": 1},
     "information: advance_demand: key 'notice' must be >= 0"),
    ("information.advance_demand", {"notice": 1, "rate": 0.5}, "missing key 'lift'"),
    ("information.advance_demand", {"notice": 1, "rate": 0.5, "lift": -1},
     "information: advance_demand: key 'lift' must be >= 0"),
]
CAP = {"name": "truck", "sites": ["retailer"], "limit": 10}
SCENARIO_CASES += [  # shared capacities
    ("capacities", "truck", "key 'capacities' must be a list"),
    ("capacities", [{**CAP, "sites": ["mayor"]}], "capacity 'truck': field 'sites': no site named 'mayor'"),
    ("capacities", [{**CAP, "sites": ["retailer", "retailer"]}], "field 'sites': 'retailer' is listed twice"),
    ("capacities", [{**CAP, "sites": []}], "capacity 'truck': field 'sites' must have at least 1 item"),
    ("capacities", [{**CAP, "limit": 0}], "capacity 'truck': field 'limit' must be > 0"),
    ("capacities", [{**CAP, "limit": "big"}], "capacity 'truck': field 'limit' must be a number"),
    ("capacities", [{**CAP, "rule": "fair"}], "field 'rule' must be 'proportional' or 'priority'"),
    ("capacities", [CAP, CAP], "capacity 'truck': field 'name' is used twice"),
    ("capacities", [{"sites": ["retailer"], "limit": 3}], "capacities[0]: missing field 'name'"),
    ("capacities", [{**CAP, "speed": 3}], "capacity 'truck': unknown field 'speed'"),
    ("capacities", [{**CAP, "overtime_cost": 2}], "capacity 'truck': field 'overtime_cost' needs 'overtime'"),
    ("capacities", [{**CAP, "overtime": -1}], "capacity 'truck': field 'overtime' must be >= 0"),
    ("capacities", [{**CAP, "overtime": 2, "overtime_cost": "dear"}],
     "capacity 'truck': field 'overtime_cost' must be a number"),
]
PROD = {"name": "lager"}
SCENARIO_CASES += [  # products
    ("products", "lager", "key 'products' must be a list"),
    ("products", [{"name": "a/b"}], "product 'a/b': field 'name' must not contain '/'"),
    ("products", [PROD, PROD], "product 'lager': field 'name' is used twice"),
    ("products", [{**PROD, "sites": ["mayor"]}], "product 'lager': field 'sites': no site named 'mayor'"),
    ("products", [{**PROD, "sites": ["retailer"]}],
     "site 'retailer' stocks product 'lager' but its supplier 'warehouse' does not"),
    ("products", [{**PROD, "sites": ["warehouse"]}], "site 'retailer' stocks no product"),
    ("products", [{**PROD, "cost_scale": 0}], "product 'lager': field 'cost_scale' must be > 0"),
    ("products", [{**PROD, "holding_cost": -1}], "product 'lager': field 'holding_cost' must be >= 0"),
    ("products", [{**PROD, "lead_time": "soon"}], "product 'lager': field 'lead_time'"),
    ("products", [{**PROD, "colour": "gold"}], "product 'lager': unknown field 'colour'"),
    ("products", [{"sites": ["retailer"]}], "products[0]: missing field 'name'"),
    ("sites.0.products", {"lager": {"holding_cost": 1}}, "site 'retailer': field 'products' needs the scenario's"),
]
SCENARIO_CASES += [  # the lead-time tail is set on the second site too
    ("sites.1.lead_time", 0, "site 'warehouse': field 'lead_time' must be a whole number >= 1"),
    ("sites.1.lead_time", 5000, "site 'warehouse': field 'lead_time' must be at most 1,000"),
]

RAW_SCENARIO_FILES: list[tuple[str, str, str]] = [  # (id, file text, fragment)
    ("malformed", "periods: [1, 2\nsites: x\n", "malformed YAML"),
    ("duplicate-key", "periods: 10\nperiods: 20\nsites: []\ndemand: {}\n", "key 'periods' given twice"),
    ("duplicate-site-field", "periods: 10\nsites:\n  - {name: a, name: b, lead_time: 1, holding_cost: 1}\n"
                             "demand: {a: {kind: poisson, mean: 1}}\n", "key 'name' given twice"),
    ("a-list", "- 1\n- 2\n", "a scenario must be a YAML mapping"),
    ("a-number", "42\n", "a scenario must be a YAML mapping"),
    ("empty", "", "a scenario must be a YAML mapping"),
    ("tabs", "periods:\t10\n\tsites: []\n", "malformed YAML"),
    ("yaml-1.2-float-bound", "periods: 10\nsites:\n  - {name: a, lead_time: 1, holding_cost: 1e308}\n"
                             "demand: {a: {kind: poisson, mean: 1}}\n", "field 'holding_cost' must be at most 1e+09"),
    ("binary", "\x00\x01\x02", "malformed YAML"),
    # YAML 1.2 core schema: base-60, underscores and yes/no are text (YAML 1.1 read 1:30 as 90, yes as true)
    ("yaml-1.2-base-60", "periods: 1:30\nsites:\n  - {name: a, lead_time: 1, holding_cost: 1}\n"
                         "demand: {a: {kind: poisson, mean: 1}}\n",
     "key 'periods' must be a whole number (got '1:30')"),
    ("yaml-1.2-underscore", "periods: 10\nsites:\n  - {name: a, lead_time: 1, holding_cost: 1, initial_inventory: "
                            "1_000}\ndemand: {a: {kind: poisson, mean: 1}}\n", "'initial_inventory'"),
    ("yaml-1.2-yes", "periods: 10\npipeline_holding: yes\nsites:\n  - {name: a, lead_time: 1, holding_cost: 1}\n"
                     "demand: {a: {kind: poisson, mean: 1}}\n", "pipeline_holding"),
]
_MP = ("periods: 10\nsites:\n  - {name: s, supplier: w, lead_time: 1, holding_cost: 1, backlog_cost: 9%s}\n"
       "  - {name: w, lead_time: 1, holding_cost: 1}\nproducts:\n  - {name: a, demand: {kind: poisson, mean: 1}}\n"
       "  - {name: b, sites: [w]}\n")
RAW_SCENARIO_FILES += [  # multi-product files
    ("product-unknown-at-site", _MP % ", products: {c: {holding_cost: 2}}", "site 's': field 'products': no product "
                                                                            "named 'c'"),
    ("product-not-stocked-at-site", _MP % ", products: {b: {holding_cost: 2}}", "'b' is not stocked here"),
    ("product-site-value", _MP % ", products: {a: {holding_cost: -2}}",
     "site 's': product 'a': field 'holding_cost' must be >= 0"),
    ("product-demand-unstocked", _MP % "" + "demand: {s/b: {kind: poisson, mean: 1}}\n",
     "demand: 's/b': site 's' does not stock product 'b'"),
    ("product-demand-no-site", _MP % "" + "demand: {x/a: {kind: poisson, mean: 1}}\n", "demand: no site named 'x'"),
    ("product-capacity-unstocked", _MP % "" + "capacities: [{name: line, sites: [s/b], limit: 3}]\n",
     "capacity 'line': field 'sites': site 's' does not stock product 'b'"),
    ("product-no-demand", _MP.replace("demand: {kind: poisson, mean: 1}", "sites: [s, w]") % "",
     "site 's/a': no demand path"),
    ("product-site-slash", _MP.replace("name: w,", "name: w/x,").replace("supplier: w,", "supplier: w/x,")
     .replace("[w]", "[w/x]") % "", "site 'w/x': field 'name' must not contain '/'"),
]

# --------------------------------------------------------------------------- the classroom's HTTP API
# (id, method, path, JSON body or raw bytes, teacher's token?, HTTP status, fragment of the error);
# ``{game}`` and ``{code}`` are a game's id and join code, made by the test. Each is sent to the real app.
BOMB = "a0: &a0 [1,1,1,1,1,1,1,1,1,1]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9))
"""A "billion laughs" YAML file: 10^9 values from nine lines of aliases."""
CLASSROOM_REQUESTS: list[tuple[str, str, str, Any, bool, int, str]] = [
    ("game-teams-0", "POST", "/api/games", {"teams": 0}, True, 400, "teams"),
    ("game-weeks-past-bound", "POST", "/api/games", {"weeks": 50_000}, True, 400, "weeks: must be at most 520"),
    ("game-seat-weeks", "POST", "/api/games", {"teams": 20, "weeks": 520}, True, 400,
     "at most 40,000 seat-weeks in one game (got 20 x 4 x 520 = 41,600)"),
    ("game-unknown-scenario", "POST", "/api/games", {"scenario": "no_such"}, True, 400, "no_such"),
    ("game-alias-bomb", "POST", "/api/games", {"scenario": "{bomb}"}, True, 400, "aliases (*name) expand to more"),
    ("game-unknown-bot", "POST", "/api/games", {"bot": "nobody"}, True, 400, "nobody"),
    ("game-not-object", "POST", "/api/games", [1], True, 400, "must be a JSON object"),
    ("game-no-token", "POST", "/api/games", {}, False, 403, "teacher token"),
    ("game-deep-json", "POST", "/api/games", b"[" * 4000, True, 400, "not JSON"),
    ("game-body-large", "POST", "/api/games", b"{" + b" " * 5000 + b"}", True, 400, "request too large"),
    ("join-wrong-code", "POST", "/api/join", {"code": "NOPE23", "name": "Ann"}, False, 400, "join code"),
    ("join-code-number", "POST", "/api/join", {"code": 7, "name": "Ann"}, False, 400, "join code"),
    ("join-no-name", "POST", "/api/join", {"code": "{code}"}, False, 400, "type your name"),
    ("join-name-control", "POST", "/api/join", {"code": "{code}", "name": "a\u0000b"}, False, 400, "letters"),
    ("join-name-long", "POST", "/api/join", {"code": "{code}", "name": "x" * 41}, False, 400, "at most 40"),
    ("join-client-malformed", "POST", "/api/join", {"code": "{code}", "name": "Ann", "client": "x"}, False, 400,
     "client: 8 to 64"),
    ("join-seat-unknown", "POST", "/api/join", {"code": "{code}", "name": "Ann", "site": "moon"}, False, 400,
     "that seat is taken or does not exist"),
    ("join-deep-json", "POST", "/api/join", b"{\"a\":" * 800, False, 400, "not JSON"),
    ("join-length-lies", "POST", "/api/join", b"{}", False, 400, "request too large"),  # (Content-Length: 64 MB)
    ("lookup-wrong-code", "POST", "/api/lookup", {"code": "NOPE23"}, False, 400, "join code"),
    ("seat-token-forged", "POST", "/api/seat", {"token": "forged"}, False, 403, "unknown seat token"),
    ("action-unknown", "POST", "/api/games/{game}/explode", {}, True, 400, "unknown action 'explode'"),
    ("force-no-team", "POST", "/api/games/{game}/force", {}, True, 400, "say which team"),
    ("timeout-negative", "POST", "/api/games/{game}/timeout", {"seconds": -1}, True, 400, "timeout"),
    ("seat-action-unknown", "POST", "/api/games/{game}/seat", {"action": "x"}, True, 400, "action must be"),
    ("game-unknown", "GET", "/api/games/nope", None, True, 404, "no such game"),
    ("delete-unknown", "DELETE", "/api/games/nope", None, True, 404, "no such game"),
    ("delete-no-token", "DELETE", "/api/games/{game}", None, False, 403, "teacher token"),
]
ORDER_TEXTS: list[tuple[Any, str]] = [  # an order's quantity as a player's socket sends it, and the refusal
    ("1_0", "'1_0' is not a whole number"), ("+5", "not a whole number"), ("1e3", "not a whole number"),
    ("\u0663", "not a whole number"), ("-1", "not a whole number"), ("4.0", "not a whole number"),
    ("", "not a whole number"), (True, "type a whole number"), (None, "type a whole number"),
    ([4], "type a whole number"), ({"q": 4}, "type a whole number"), (2.5, "'2.5' is not a whole number"),
    (-3, "out of range"), (10**30, "out of range"), ("9" * 13, "not a whole number"),
]
