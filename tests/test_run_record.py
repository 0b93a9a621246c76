"""A run folder's record: run folders trained before a change still evaluate, and fingerprints are of named
fields, so a new optional field at its default leaves every trained run valid."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from echelon.agents.registry import make_policy
from echelon.agents.run_record import FINGERPRINT_VERSION, canonical, run_fingerprint, scenario_fingerprint
from echelon.envs.errors import ConfigError
from echelon.envs.scenario import load_scenario
from echelon.evaluation.rollout import rollout

OLD_RUNS = Path(__file__).parent / "data" / "runs_v1"


@pytest.mark.parametrize(("run", "scenario", "cost"), [
    # trained by ``echelon train`` (commit 1e19928, fingerprint version 1) on a tiny budget; the costs are
    # what that version's evaluation gave on 20 episodes, seed 0
    ("es", "beer_game", 4.802083333333334),
    ("ppo", "textbook_serial", 96.94056834628935),
])
def test_a_run_folder_trained_before_the_change_still_evaluates(run, scenario, cost):
    config = yaml.safe_load((OLD_RUNS / run / "config.yaml").read_text())
    assert "version" not in config["fingerprint"]  # a version-1 record
    scen = load_scenario(scenario)
    policy = make_policy({"policy": "learned", "run": str(OLD_RUNS / run)}, scen)
    assert float(rollout(policy, scen, episodes=20, seed=0).episode_cost.mean()) == pytest.approx(cost, rel=1e-12)


def test_an_edited_old_run_is_still_refused(tmp_path):
    run = tmp_path / "es"
    shutil.copytree(OLD_RUNS / "es", run)
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["observation"] = "global"
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match="edited after training"):
        make_policy({"policy": "learned", "run": str(run)}, load_scenario("beer_game"))


def test_a_newer_fingerprint_version_is_refused(tmp_path):
    run = tmp_path / "es"
    shutil.copytree(OLD_RUNS / "es", run)
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["fingerprint"]["version"] = "9"
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match="fingerprint version 9 is newer"):
        make_policy({"policy": "learned", "run": str(run)}, load_scenario("beer_game"))


def test_a_new_optional_field_at_its_default_leaves_the_fingerprint_as_it_was():
    """The same class (same name) before and after a field with a default was added to it."""
    Before = dataclasses.make_dataclass("Site", [("name", str), ("cost", float, dataclasses.field(default=1.0))])
    After = dataclasses.make_dataclass("Site", [("name", str), ("cost", float, dataclasses.field(default=1.0)),
                                                ("overtime", float, dataclasses.field(default=0.0)),
                                                ("tags", tuple, dataclasses.field(default=()))])
    assert canonical(Before("a", 2.0)) == canonical(After("a", 2.0)) == {"type": "Site", "name": "a", "cost": "2.0"}
    assert canonical(After("a", 2.0, overtime=1.5)) != canonical(Before("a", 2.0))
    assert canonical(Before("a")) == {"type": "Site", "name": "a"}  # defaults are left out


def test_canonical_data_is_exact_and_ordered():
    assert canonical({"b": np.float64(0.1), "a": (1, np.array([2.5, 3]))}) == {"a": [1, ["2.5", "3.0"]], "b": "0.1"}
    assert canonical(0.1 + 0.2) != canonical(0.3)  # floats exactly


def test_the_fingerprint_sees_what_a_model_depends_on_and_nothing_else():
    base = load_scenario("textbook_serial")
    same = dataclasses.replace(base, name="x", description="y", source="z", periods=base.periods * 2)
    assert scenario_fingerprint(same) == scenario_fingerprint(base)
    costlier = dataclasses.replace(base, sites=(dataclasses.replace(base.sites[0], holding_cost=9.0),
                                                *base.sites[1:]))
    assert scenario_fingerprint(costlier) != scenario_fingerprint(base)
    config = {"mode": "shared", "algo": "ppo", "action": "target", "observation": "local", "groups": []}
    record = run_fingerprint(config, base)
    assert record["version"] == FINGERPRINT_VERSION
    assert run_fingerprint(config | {"site": None}, base) == record  # an unset key is no change
    assert run_fingerprint(config | {"observation": "global"}, base)["config"] != record["config"]
