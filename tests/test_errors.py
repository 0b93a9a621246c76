"""Bad input gives one clear error naming what and where, and never changes state."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

from echelon import envs
from echelon.envs.errors import ActionError, ConfigError
from echelon.envs.scenario import load_scenario

BASE = {
    "name": "t",
    "periods": 10,
    "sites": [
        {"name": "shop", "supplier": "depot", "lead_time": 1, "holding_cost": 1, "backlog_cost": 5},
        {"name": "depot", "lead_time": 2, "holding_cost": 0.5},
    ],
    "demand": {"shop": {"kind": "poisson", "mean": 4}},
}


def write(tmp_path, data, name="scen.yaml"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def mutated(fn):
    data = copy.deepcopy(BASE)
    fn(data)
    return data


CASES = [
    ("missing key", lambda d: d.pop("periods"), ["missing key 'periods'"]),
    ("unknown key", lambda d: d.update(horizon=5), ["unknown key 'horizon'"]),
    ("missing field", lambda d: d["sites"][0].pop("holding_cost"), ["site 'shop'", "holding_cost"]),
    ("unknown field", lambda d: d["sites"][1].update(leadtime=3), ["site 'depot'", "leadtime"]),
    ("negative lead", lambda d: d["sites"][0].update(lead_time=-1), ["site 'shop'", "lead_time", ">= 1"]),
    ("zero lead", lambda d: d["sites"][0].update(lead_time=0), ["site 'shop'", "lead_time", "t + L"]),
    ("negative cost", lambda d: d["sites"][1].update(holding_cost=-2), ["site 'depot'", "holding_cost", ">= 0"]),
    ("bad backlog cost", lambda d: d["sites"][0].update(backlog_cost="high"), ["site 'shop'", "backlog_cost"]),
    ("no supplier", lambda d: d["sites"][0].update(supplier="plant"), ["site 'shop'", "supplier", "'plant'"]),
    ("cycle", lambda d: d["sites"][1].update(supplier="shop"), ["supply cycle", "supplier"]),
    ("self supply", lambda d: d["sites"][1].update(supplier="depot"), ["site 'depot'", "supplier"]),
    ("order", lambda d: d["sites"].reverse(), ["site 'shop'", "listed after"]),
    ("no demand path", lambda d: d["sites"].append({"name": "spare", "lead_time": 1, "holding_cost": 1}),
     ["site 'spare'", "no demand path"]),
    ("demand unknown site", lambda d: d["demand"].update(mall={"kind": "poisson", "mean": 1}),
     ["demand", "'mall'"]),
    ("demand bad kind", lambda d: d["demand"].update(shop={"kind": "gamma", "mean": 1}), ["site 'shop'", "kind"]),
    ("demand bad mean", lambda d: d["demand"].update(shop={"kind": "poisson", "mean": -3}),
     ["site 'shop'", "'mean'"]),
    ("demand missing std", lambda d: d["demand"].update(shop={"kind": "normal", "mean": 3}),
     ["site 'shop'", "'std'"]),
    ("uniform reversed", lambda d: d["demand"].update(shop={"kind": "uniform", "low": 5, "high": 2}),
     ["site 'shop'", "'high'"]),
    ("lost with backlog cost", lambda d: d["sites"][0].update(unmet="lost"), ["site 'shop'", "lost_sales_cost"]),
    ("bad unmet", lambda d: d["sites"][0].update(unmet="drop"), ["site 'shop'", "unmet"]),
    ("bad periods", lambda d: d.update(periods=0), ["periods"]),
    ("bad allocation", lambda d: d.update(allocation="fair"), ["allocation"]),
    ("random lead probs", lambda d: d["sites"][0].update(lead_time={"values": [1, 2], "probs": [0.5, 0.6]}),
     ["site 'shop'", "lead_time", "sum to 1"]),
    ("duplicate name", lambda d: d["sites"][1].update(name="shop"), ["site 'shop'", "twice"]),
]


@pytest.mark.parametrize(("label", "change", "needles"), CASES, ids=[c[0] for c in CASES])
def test_bad_scenario_names_file_site_field(tmp_path, label, change, needles):
    path = write(tmp_path, mutated(change))
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    message = str(err.value)
    assert str(path) in message
    assert "\n" not in message
    for needle in needles:
        assert needle in message, (needle, message)


def test_malformed_and_unreadable_yaml(tmp_path):
    bad = write(tmp_path, "periods: [1, 2\nsites: {", "bad.yaml")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*line \d+.*malformed YAML"):
        load_scenario(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_scenario(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        load_scenario(write(tmp_path, "- just\n- a list\n", "list.yaml"))
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigError, match="cannot read"):
        load_scenario(binary)
    with pytest.raises(ConfigError, match="unknown scenario 'nope'.*beer_game"):
        load_scenario("nope")


def csv_scenario(tmp_path, csv_text, column="units", periods=3):
    (tmp_path / "d.csv").write_text(csv_text)
    return write(tmp_path, mutated(lambda d: d.update(
        periods=periods, demand={"shop": {"kind": "csv", "path": "d.csv", "column": column}})))


def test_csv_replay_reads_column(tmp_path):
    scen = load_scenario(csv_scenario(tmp_path, "day,units\n1,4\n2,7\n3,0\n"))
    sim = envs.Simulator(scen, batch=2)
    sim.reset(np.random.default_rng(0))
    np.testing.assert_array_equal(sim.episode.demand[:, :, 0].T, [[4, 7, 0], [4, 7, 0]])


@pytest.mark.parametrize(
    ("text", "column", "periods", "needle"),
    [
        ("day,units\n1,4\n2,x\n", "units", 2, "line 3: column 'units': not a number"),
        ("day,units\n1,4\n2,-1\n", "units", 2, "line 3"),
        ("day,units\n1,4\n", "sales", 1, "no column 'sales'"),
        ("", "units", 1, "empty"),
        ("day,units\n", "units", 1, "no data rows"),
        ("day,units\n1,4\n2,5\n", "units", 5, "2 periods, fewer than the 5 of an episode"),  # at load, not mid-run
    ],
)
def test_bad_csv(tmp_path, text, column, periods, needle):
    with pytest.raises(ConfigError) as err:
        scen = load_scenario(csv_scenario(tmp_path, text, column, periods))
        envs.Simulator(scen).reset(np.random.default_rng(0))
    assert needle in str(err.value) and "d.csv" in str(err.value)


def test_missing_csv(tmp_path):
    path = write(tmp_path, mutated(lambda d: d.update(demand={"shop": {"kind": "csv", "path": "nope.csv",
                                                                          "column": "u"}})))
    with pytest.raises(ConfigError, match="nope.csv: cannot read"):
        load_scenario(path)


def snapshot(sim):
    s = sim.state
    return (s.period, *(np.array(getattr(s, k)) for k in ("on_hand", "backlog", "owed", "transit", "pending")))


def same(a, b):
    return a[0] == b[0] and all(np.array_equal(x, y) for x, y in zip(a[1:], b[1:], strict=True))


BAD_ACTIONS = [
    ({"retailer": float("nan"), "wholesaler": 1, "distributor": 1, "factory": 1}, "finite"),
    ({"retailer": -1, "wholesaler": 1, "distributor": 1, "factory": 1}, "retailer"),
    ({"retailer": 1.5, "wholesaler": 1, "distributor": 1, "factory": 1}, "whole number"),
    ({"retailer": 10**6, "wholesaler": 1, "distributor": 1, "factory": 1}, "0..32"),
    ({"retailer": [1, 2], "wholesaler": 1, "distributor": 1, "factory": 1}, "one number"),
    ({"retailer": 1, "wholesaler": 1, "distributor": 1}, "no action for agent 'factory'"),
    ({"retailer": 1, "wholesaler": 1, "distributor": 1, "factory": 1, "mall": 2}, "unknown agent 'mall'"),
    ([1, 2, 3, 4], "dict"),
]


@pytest.mark.parametrize(("actions", "needle"), BAD_ACTIONS)
def test_bad_parallel_actions_change_nothing(actions, needle):
    env = envs.parallel_env(scenario="beer_game")
    env.reset(seed=0)
    env.step({a: 4 for a in env.agents})
    before = snapshot(env.sim)
    with pytest.raises(ActionError, match=needle):
        env.step(actions)
    assert same(before, snapshot(env.sim))


@pytest.mark.parametrize(
    ("action", "needle"),
    [(np.array([1.0, np.nan, 1.0]), "finite"), (np.array([1.0, -2.0, 0.0]), r"\[0, "),
     (np.array([1.0, 2.0]), r"shape \(3,\)"), ("lots", "expected 3 numbers")],
)
def test_bad_central_actions_change_nothing(action, needle):
    env = envs.CentralSupplyChainEnv(scenario="textbook_serial", action="continuous")
    env.reset(seed=0)
    before = snapshot(env.sim)
    with pytest.raises(ActionError, match=needle):
        env.step(action)
    assert same(before, snapshot(env.sim))


def test_step_after_episode_end():
    env = envs.parallel_env(scenario="beer_game", periods=2)
    env.reset(seed=0)
    env.step({a: 4 for a in env.agents})
    env.step({a: 4 for a in env.possible_agents})
    before = snapshot(env.sim)
    with pytest.raises(ActionError, match="episode ended"):
        env.step({a: 4 for a in env.possible_agents})
    assert same(before, snapshot(env.sim))
    central = envs.CentralSupplyChainEnv(scenario="beer_game", periods=1)
    central.reset(seed=0)
    central.step(np.array([4, 4, 4, 4]))
    with pytest.raises(ActionError, match="episode ended"):
        central.step(np.array([4, 4, 4, 4]))
    hybrid = envs.HybridSupplyChainEnv(scenario="beer_game", periods=2, review_period=2)
    hybrid.reset(seed=0)
    hybrid.step(np.full(4, 20.0))
    with pytest.raises(ActionError, match="episode ended"):
        hybrid.step(np.full(4, 20.0))


@pytest.mark.parametrize("make", [envs.parallel_env, envs.hybrid_parallel_env], ids=["parallel", "hybrid"])
def test_spaces_of_an_unknown_agent(make):
    env = make(scenario="beer_game")
    for lookup in (env.observation_space, env.action_space):
        with pytest.raises(ActionError, match=r"unknown agent 'mall' \(agents: .*retailer"):
            lookup("mall")
    assert env.action_space("retailer") is env.action_space("retailer")  # built once


def test_core_order_checks():
    sim = envs.Simulator("beer_game", batch=2)
    sim.reset(np.random.default_rng(0))
    before = snapshot(sim)
    for bad, needle in [(np.full((2, 3), 1.0), "shape"), (np.full((2, 4), -1.0), ">= 0"),
                        (np.full((2, 4), np.inf), "finite")]:
        with pytest.raises(ActionError, match=needle):
            sim.step(bad)
    assert same(before, snapshot(sim))


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [({"reward": "selfish"}, "reward"), ({"reward": 1.5}, "reward"), ({"observation": "all"}, "observation"),
     ({"action": "box"}, "action"), ({"max_order": -1}, "max_order"), ({"max_adjust": 0}, "max_adjust"),
     ({"render_mode": "movie"}, "render_mode"), ({"periods": 0}, "periods"), ({"view": "eyes"}, "view"),
     ({"reward_scale": 0}, "reward_scale"), ({"reward_scale": "big"}, "reward_scale"),
     ({"periods": 10, "max_cycles": 12}, "max_cycles")],
)
def test_bad_env_options(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        envs.parallel_env(scenario="beer_game", **kwargs)


# (action of the first site, accepted value or None) for the discrete form, bound 32 on beer_game;
# a bool is refused although Python counts True as 1: an order of True is a mistake
EDGE_VALUES = [
    (0, 0.0), (3, 3.0), (32, 32.0), (33, None), (-1, None), (2.5, None), (-0.0, 0.0), (7.0, 7.0),
    (float("nan"), None), (float("inf"), None), (True, None), (np.bool_(True), None), (np.int64(5), 5.0),
    (np.float32(2.0), 2.0),
    (np.array([4]), 4.0), (np.array([1, 2]), None), ("3", None), (None, None),
]


@pytest.mark.parametrize(("value", "accepted"), EDGE_VALUES, ids=repr)
def test_batch1_fast_path_agrees_with_batch_check(value, accepted):
    """site_orders (the env's batch-1 path) accepts exactly the valid actions, with the batch path's orders."""
    sim = envs.Simulator("beer_game")
    at = (sim.state, sim.params)  # the start: every site's last incoming order is 4
    for form, to_order in [("discrete", lambda a: a), ("demand_plus", lambda a: max(0.0, 4 + a - 2))]:
        actions = envs.parallel_env(scenario="beer_game", action=form).action_form
        if form == "demand_plus" and accepted is not None and accepted > 4:
            accepted = None  # demand_plus actions are 0..2m = 0..4
        if accepted is None:
            with pytest.raises(ActionError, match="retailer"):
                actions.site_orders([value, 1, 1, 1], *at)
            continue
        orders = actions.site_orders([value, 1, 1, 1], *at)
        np.testing.assert_array_equal(orders, [[to_order(accepted), *[to_order(1.0)] * 3]])
        np.testing.assert_array_equal(orders, actions.to_orders(np.array([[accepted, 1, 1, 1]]), *at))
    # every site's action as a 1-element array (as Box spaces give them)
    actions = envs.parallel_env(scenario="beer_game").action_form
    np.testing.assert_array_equal(actions.site_orders([np.array([2])] * 4, *at), [[2.0] * 4])


def test_reused_order_buffer_does_not_change_state():
    sim = envs.Simulator("beer_game", batch=2)
    sim.reset(np.random.default_rng(0))
    orders = np.full((2, 4), 4.0)
    sim.step(orders)
    kept = snapshot(sim)
    orders[:] = 99.0  # a policy filling the same buffer for the next period
    assert same(kept, snapshot(sim))
    assert (sim.state.last_order == 4.0).all()


from catalogue import RAW_SCENARIO_FILES, SCENARIO_CASES, mutate  # noqa: E402  (the shared catalogue)


@pytest.mark.parametrize(("path", "value", "fragment"), SCENARIO_CASES,
                         ids=[f"{i}-{c[0]}" for i, c in enumerate(SCENARIO_CASES)])
def test_every_catalogued_scenario_mutation_is_one_line_through_the_api(path, value, fragment, base_scenario,
                                                                         write_yaml):
    """The command-line catalogue's scenario mutations (``tests/catalogue.py``), through ``load_scenario``:
    a ConfigError of one line naming the file (the scenario, or the data file it names), with the fragment the
    command line prints."""
    file = write_yaml(mutate(base_scenario, path, value), "net.yaml")
    with pytest.raises(ConfigError) as err:
        load_scenario(file)
    message = str(err.value)
    assert message.startswith(str(file.parent)) and "\n" not in message and fragment in message, message


@pytest.mark.parametrize(("label", "text", "fragment"), RAW_SCENARIO_FILES, ids=[c[0] for c in RAW_SCENARIO_FILES])
def test_every_catalogued_scenario_file_is_one_line_through_the_api(label, text, fragment, write_yaml):
    file = write_yaml(text, "net.yaml")
    with pytest.raises(ConfigError) as err:
        load_scenario(file)
    assert "\n" not in str(err.value) and fragment in str(err.value), str(err.value)


@pytest.mark.parametrize("run", [5, "", None, ["runs/a"]])
def test_a_learned_policy_s_run_must_be_a_path(run):
    from echelon.agents.registry import make_policy

    with pytest.raises(ConfigError, match=r"^b\.yaml: policy 'learned': run must be the path of a run folder"):
        make_policy({"policy": "learned", "run": run}, load_scenario("beer_game"), where="b.yaml")


def test_every_demand_kind_is_declared_once_and_built():
    """The demand blocks' declarations (envs.demand_schema) and the builders (envs.demand) cover the same kinds."""
    from echelon.envs.demand import DEMAND_MODELS
    from echelon.envs.demand_schema import SPECS

    assert list(SPECS) == list(DEMAND_MODELS)
    for kind, spec in SPECS.items():
        assert spec.model_fields["kind"].annotation.__args__ == (kind,)


@pytest.mark.parametrize(("demand", "needle"), [
    ({"kind": "uniform", "low": 2.0, "high": 6}, None),  # whole numbers may be written 2.0, as before
    ({"kind": "uniform", "low": 2.5, "high": 6}, "field 'low' must be a whole number (got 2.5)"),
    ({"kind": "step", "before": 4, "after": 8, "at": 3, "noise": "gauss"}, "field 'noise' must be 'none' or 'poisson'"),
    ({"kind": "csv", "path": "d.csv"}, "missing field 'column'"),
    ({"kind": "seasonal", "base": 4, "amplitude": 1, "cycle": 12, "clip": "yes"}, "field 'clip' must be"),
    ({"kind": "poisson", "mean": True}, "field 'mean' must be a finite number (got True)"),
    ({"mean": 4}, "field 'kind' must be one of poisson, negative_binomial"),
])
def test_demand_blocks_are_read_by_their_declaration(demand, needle, write_yaml, base_scenario):
    base_scenario["demand"] = {"retailer": demand}
    path = write_yaml(base_scenario)
    if needle is None:
        assert load_scenario(path).demand["retailer"].mean == 4.0
        return
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    assert f"{path}: demand of site 'retailer': {needle}" in str(err.value), str(err.value)


def test_yaml_numbers_are_read_by_the_yaml_1_2_core_schema(tmp_path):
    """010 is ten (YAML 1.1: eight), 0o10 eight, 0x10 sixteen, 1e3 a float; dates and yes are text."""
    from echelon.envs.scenario import read_yaml

    path = tmp_path / "n.yaml"
    path.write_text("a: 010\nb: 0o10\nc: 0x10\nd: 1e3\ne: 2024-01-05\nf: yes\ng: True\nh: .inf\ni: 1_000\n")
    assert read_yaml(path) == {"a": 10, "b": 8, "c": 16, "d": 1000.0, "e": "2024-01-05", "f": "yes", "g": True,
                               "h": float("inf"), "i": "1_000"}
    path.write_text("periods: 010\nsites:\n  - {name: a, lead_time: 1, holding_cost: 1}\n"
                    "demand: {a: {kind: poisson, mean: 1}}\n")
    from echelon.envs.scenario import load_scenario

    assert load_scenario(str(path)).periods == 10


def test_show_states_each_demands_true_mean_and_shape(capsys):
    """``echelon show`` says what the draws will average: the beer game's step (4 for periods 1-4, then 8:
    272/36 per period over its 36), and a season over a part of its cycle, checked against its draws."""
    import math

    import numpy as np

    from echelon.cli import main
    from echelon.envs.demand import Seasonal, demand_summary
    from echelon.envs.scenario import load_scenario
    from echelon.envs.simulator import Simulator

    assert main(["show", "beer_game"]) == 0
    assert "step 4 -> 8 from" in capsys.readouterr().out
    beer = load_scenario("beer_game")
    assert demand_summary(beer.demand["retailer"], beer.periods) == (
        f"step 4 -> 8 from period 5 (at: 4); mean {272 / 36:.3g} over the 36 periods of an episode")
    season = Seasonal(base=2.0, amplitude=1.9, cycle=52)
    by_hand = sum(2 + 1.9 * math.sin(2 * math.pi * t / 52) for t in range(20)) / 20
    text = demand_summary(season, 20)
    assert "min 0.1, max 3.9" in text and f"mean {by_hand:.3g} over the 20 periods" in text
    draws = season.sample(np.random.default_rng(0), 4000, 20).mean()
    assert abs(draws - by_hand) < 0.02  # what the episodes will see
    sim = Simulator({"periods": 20, "sites": [{"name": "a", "lead_time": 1, "holding_cost": 1}],
                     "demand": {"a": {"kind": "seasonal", "base": 2.0, "amplitude": 1.9, "cycle": 52}}}, batch=4000)
    sim.reset(np.random.default_rng(1))
    assert abs(sim.episode.demand.mean() - by_hand) < 0.02
