"""The algorithm and mode tables: a new algorithm is one entry and one module (``tests/random_search.py``)."""

from __future__ import annotations

import contextlib
import io

import pytest
import random_search
import yaml

from echelon.envs.errors import ConfigError
from echelon.training.algorithms import ALGORITHMS, algo_names, algorithm_of, one_of
from echelon.training.config import group_layout, load_train_config
from echelon.training.modes import MODES

CONFIG = {"name": "rs", "scenario": "textbook_serial", "algo": "random_search", "mode": "central",
          "action": "echelon_target", "n_timesteps": 6000, "eval_freq": 3000, "eval_episodes": 8, "seed": 0,
          "hyperparams": {"candidates": 4, "episodes": 4, "sigma": 0.2}}


@pytest.fixture
def with_random_search():
    before = dict(ALGORITHMS)
    random_search.add()
    yield
    ALGORITHMS.clear()
    ALGORITHMS.update(before)


def test_every_built_in_pair_has_an_entry_and_the_messages_list_them():
    assert list(ALGORITHMS) == [("sb3", "ppo"), ("sb3", "a2c"), ("sb3", "dqn"), ("sb3", "sac"), ("sb3", "td3"),
                                ("sb3", "es"), ("jax", "es"), ("jax", "ppo"),
                                ("rllib", "ppo")]
    assert one_of(algo_names()) == "'ppo', 'a2c', 'dqn', 'sac', 'td3' or 'es'"
    assert list(MODES) == ["shared", "central", "single_site", "independent", "hybrid"]


def test_an_unregistered_algorithm_is_refused_and_a_registered_one_trains_and_evaluates(
        with_random_search, tmp_path, monkeypatch):
    from echelon.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "rs.yaml").write_text(yaml.safe_dump(CONFIG))
    config = load_train_config(tmp_path / "rs.yaml")
    assert algorithm_of(config) is random_search.RANDOM_SEARCH
    layout = group_layout(config, __import__("echelon").load_scenario("textbook_serial"))
    assert layout == [{"name": "central", "sites": ["retailer", "wholesaler", "factory"], "joint": True,
                       "model": "models/central.npz"}]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["train", "rs.yaml", "--out", "run"]) == 0
    assert (tmp_path / "run" / "models" / "central.npz").is_file()
    with contextlib.redirect_stdout(out):
        assert main(["evaluate", "run", "--episodes", "20", "--out", "eval"]) == 0
    assert "learned (rs)" in out.getvalue()
    bad = CONFIG | {"hyperparams": {"population": 4}}
    with pytest.raises(ConfigError, match="RANDOM_SEARCH has no argument 'population'"):
        load_train_config(bad, where="rs.yaml")


def test_without_its_entry_the_algorithm_is_unknown():
    with pytest.raises(ConfigError, match=r"algo: must be 'ppo', 'a2c', 'dqn', 'sac', 'td3' or 'es' "
                                          r"\(got 'random_search'\)"):
        load_train_config(CONFIG, where="rs.yaml")


def test_a_backend_trains_only_its_own_algorithms():
    with pytest.raises(ConfigError, match=r"backend rllib trains algo ppo \(got 'es'\)"):
        load_train_config(CONFIG | {"algo": "es", "backend": "rllib", "mode": "shared", "hyperparams": {}},
                          where="x.yaml")
