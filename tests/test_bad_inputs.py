"""The catalogue of wrong inputs, as a new user would meet them, run through the real CLI.

Every case is data: the command line, the files it reads (written into an empty folder first)
and a fragment the one-line message must contain. Each must end with exit status 2, exactly one
line on stderr starting ``echelon`` and naming the wrong thing, no traceback, and nothing left
behind (the folder holds only the files the case wrote). ``test_catalogue_size`` keeps the count
honest; a few cases also run as a real process to show no traceback escapes there either. The bases, the
scenario mutations and the raw scenario files are ``tests/catalogue.py``, shared with the API tests
(``tests/test_errors.py``); every scenario mutation runs through every command that reads a scenario
(:data:`SCENARIO_COMMANDS`).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from catalogue import (  # noqa: E402  (the shared catalogue: tests/catalogue.py)
    BENCHMARK,
    DELETE,
    RAW_SCENARIO_FILES,
    SCENARIO,
    SCENARIO_CASES,
    STUDY,
    TRAINING,
)
from catalogue import mutate as _set  # noqa: E402

# --------------------------------------------------------------------------- training configs
TRAINING_CASES: list[tuple[str, Any, str]] = [
    ("hyperparams.batch_size", 1, "hyperparams: batch_size: must be >= 2"),
    ("hyperparams.n_steps", 0, "hyperparams: n_steps: must be >= 1"),
    ("hyperparams.n_epochs", 0, "hyperparams: n_epochs: must be >= 1"),
    ("hyperparams.ent_coef", "lots", "hyperparams: ent_coef: must be a number"),
    ("hyperparams.policy_kwargs.net_arch", "big", "hyperparams: policy_kwargs.net_arch: expected hidden layer"),
    ("hyperparams.gamma", 5, "hyperparams: gamma: must be at most 1"),
    ("hyperparams.gamma", -0.1, "hyperparams: gamma: must be >= 0"),
    ("hyperparams.clip_range", -0.2, "hyperparams: clip_range: expected clipping range"),
    ("hyperparams.clip_range", "lin_x", "hyperparams: clip_range: must be a number > 0 or lin_"),
    ("hyperparams.learning_rate", 0, "hyperparams: learning_rate: expected adam's step size"),
    ("hyperparams.learning_rate", "fast", "hyperparams: learning_rate: must be a number > 0 or lin_"),
    ("hyperparams.learning_rate", True, "hyperparams: learning_rate: true/false is not a number"),
    ("hyperparams.gae_lambda", 1.5, "hyperparams: gae_lambda: must be at most 1"),
    ("hyperparams.vf_coef", -1, "hyperparams: vf_coef: must be >= 0"),
    ("hyperparams.max_grad_norm", 0, "hyperparams: max_grad_norm: must be > 0"),
    ("hyperparams.target_kl", -1, "hyperparams: target_kl: must be > 0"),
    ("hyperparams.normalize_advantage", "yes", "hyperparams: normalize_advantage: must be true or false"),
    ("hyperparams.n_steps", 2.5, "hyperparams: n_steps: must be a whole number"),
    ("hyperparams.n_steps", 10**9, "hyperparams: n_steps: must be at most 1,000,000"),
    ("hyperparams.n_epochs", "ten", "hyperparams: n_epochs: must be a whole number"),
    ("hyperparams.policy_kwargs.net_arch", [64, 0], "policy_kwargs.net_arch.1"),
    ("hyperparams.policy_kwargs.net_arch", [64, "x"], "policy_kwargs.net_arch.1"),
    ("hyperparams.policy_kwargs.net_arch", {"pi": [8], "zz": [8]}, "policy_kwargs.net_arch"),
    ("hyperparams.policy_kwargs.activation_fn", "sigmoid", "activation_fn: must be 'tanh', 'relu'"),
    ("hyperparams.policy_kwargs.dropout", 0.5, "hyperparams: unknown key 'policy_kwargs.dropout'"),
    ("hyperparams.policy_kwargs", "wide", "hyperparams: policy_kwargs: must be a mapping"),
    ("hyperparams.buffer_size", 1000, "PPO has no argument 'buffer_size'"),
    ("hyperparams.seed", 3, "PPO has no argument 'seed'"),
    ("hyperparams", "fast", "hyperparams: must be a mapping"),
    ("hyperparams", [1, 2], "hyperparams: must be a mapping"),
    ("scenario", DELETE, "missing key 'scenario'"),
    ("scenario", "nowhere", "scenario: unknown scenario 'nowhere'"),
    ("mode", "solo", "mode: must be 'shared', 'central', 'single_site', 'independent' or 'hybrid' (got 'solo')"),
    ("algo", "trpo", "algo: must be 'ppo', 'a2c', 'dqn', 'sac', 'td3' or 'es' (got 'trpo')"),
    ("algo", "dqn", "DQN has no argument 'n_epochs'"),
    ("algo", "sac", "algo 'sac' needs continuous actions"),
    ("backend", "tpu", "backend: must be 'sb3', 'jax' or 'rllib' (got 'tpu')"),
    ("reward", "greedy", "reward"),
    ("reward", 1.5, "reward"),
    ("action", "shout", "action: must be 'discrete', 'continuous', 'demand_plus', 'target', 'continuous_target' "
                        "or 'echelon_target' (got 'shout')"),
    ("observation", "psychic", "observation: must be 'local', 'shared', 'global' or 'pipeline'"),
    ("copies", 0, "copies: must be >= 1 (got 0)"),
    ("copies", 10**9, "copies: must be at most 1,048,576"),
    ("copies", "two", "copies: must be a whole number (got 'two')"),
    ("n_timesteps", 0, "n_timesteps: must be >= 1"),
    ("n_timesteps", 1e6, "n_timesteps: must be a whole number (got 1000000.0)"),
    ("n_timesteps", 10**15, "n_timesteps: must be at most 1,000,000,000,000"),
    ("seed", -1, "seed: must be >= 0"),
    ("seed", 2**40, "seed: must be at most 2,147,483,647"),
    ("eval_freq", 0, "eval_freq: must be >= 1"),
    ("eval_episodes", 1, "eval_episodes: must be >= 2"),
    ("eval_episodes", 10**8, "eval_episodes: must be at most 1,048,576"),
    ("checkpoint_freq", 0, "checkpoint_freq: must be >= 1"),
    ("checkpoint_minutes", 0, "checkpoint_minutes: must be > 0"),
    ("checkpoint_minutes", 2000, "checkpoint_minutes: must be at most 1440"),
    ("checkpoint_minutes", "often", "checkpoint_minutes: must be a number"),
    ("checkpoint_minutes", float("inf"), "checkpoint_minutes: must be a finite number"),
    ("normalize", "yes", "normalize: must be true or false (got 'yes')"),
    ("site", "retailer", "'site' and 'others' apply to mode single_site only"),
    ("mode", "single_site", "'site' must name the learning site"),
    ("ray", {"address": "auto"}, "'ray' applies to backend rllib only"),
    ("ray", "local", "ray: must be a mapping (got 'local')"),
    ("colour", "red", "unknown key 'colour'"),
    ("rotation_timesteps", 0, "rotation_timesteps: must be >= 1"),
    ("max_adjust", 0, "max_adjust: must be >= 1"),
]
TRAINING_EXTRA: list[tuple[str, dict[str, Any], str]] = [  # whole-config changes
    ("dqn-continuous", {"algo": "dqn", "action": "continuous", "hyperparams": {}},
     "algo 'dqn' needs one discrete action per slot"),
    ("dqn-continuous-target", {"algo": "dqn", "action": "continuous_target", "hyperparams": {}},
     "algo 'dqn' needs one discrete action per slot"),
    ("sac-echelon-target", {"algo": "sac", "action": "echelon_target", "hyperparams": {}},
     "algo 'sac' needs continuous actions: set action: continuous or continuous_target"),
    ("dqn-central", {"algo": "dqn", "action": "discrete", "mode": "central", "hyperparams": {}},
     "algo 'dqn' needs one discrete action per slot"),
    ("dqn-bad-train-freq", {"algo": "dqn", "action": "discrete", "hyperparams": {"train_freq": [4, "week"]}},
     "hyperparams: train_freq: expected update every"),
    ("dqn-exploration", {"algo": "dqn", "action": "discrete", "hyperparams": {"exploration_fraction": 2}},
     "hyperparams: exploration_fraction: must be at most 1"),
    ("dqn-buffer", {"algo": "dqn", "action": "discrete", "hyperparams": {"buffer_size": 10**9}},
     "hyperparams: buffer_size: must be at most 10,000,000"),
    ("dqn-n-epochs", {"algo": "dqn", "action": "discrete", "hyperparams": {"n_epochs": 3}},
     "DQN has no argument 'n_epochs'"),
    ("sac-ent-coef", {"algo": "sac", "action": "continuous", "hyperparams": {"ent_coef": "autox"}},
     "hyperparams: ent_coef: must be a number > 0, 'auto'"),
    ("sac-tau", {"algo": "sac", "action": "continuous", "hyperparams": {"tau": 0}},
     "hyperparams: tau: must be > 0"),
    ("td3-policy-delay", {"algo": "td3", "action": "continuous", "hyperparams": {"policy_delay": 0}},
     "hyperparams: policy_delay: must be >= 1"),
    ("a2c-rms", {"algo": "a2c", "hyperparams": {"rms_prop_eps": 0}}, "hyperparams: rms_prop_eps: must be > 0"),
    ("a2c-batch", {"algo": "a2c", "hyperparams": {"batch_size": 64}}, "A2C has no argument 'batch_size'"),
    ("rllib-lr", {"backend": "rllib", "normalize": False, "hyperparams": {"lr": -1}}, "hyperparams: lr: must be > 0"),
    ("rllib-minibatch", {"backend": "rllib", "normalize": False, "hyperparams": {"minibatch_size": 1}},
     "hyperparams: minibatch_size: must be >= 2"),
    ("rllib-sb3-name", {"backend": "rllib", "normalize": False, "hyperparams": {"n_steps": 100}},
     "hyperparams: unknown key 'n_steps'"),
    ("rllib-ray-runners", {"backend": "rllib", "normalize": False, "hyperparams": {}, "ray": {"num_env_runners": -1}},
     "ray: num_env_runners: must be >= 0"),
    ("rllib-ray-key", {"backend": "rllib", "normalize": False, "hyperparams": {}, "ray": {"adress": "auto"}},
     "ray: unknown key 'adress'"),
    ("rllib-central", {"backend": "rllib", "normalize": False, "hyperparams": {}, "mode": "central"},
     "backend rllib trains mode shared or independent"),
    ("rllib-normalize", {"backend": "rllib", "normalize": True, "hyperparams": {}}, "does not normalise"),
    ("rllib-minibatch-over-batch", {"backend": "rllib", "normalize": False,
                                    "hyperparams": {"minibatch_size": 7000}},
     "hyperparams: minibatch_size (7000) must be at most train_batch_size_per_learner (6400)"),
    ("rllib-address-scheme", {"backend": "rllib", "normalize": False, "hyperparams": {},
                              "ray": {"address": "http://head"}}, "ray: address: http://head is not a Ray address"),
    ("rllib-address-port", {"backend": "rllib", "normalize": False, "hyperparams": {},
                            "ray": {"address": "head:99999"}}, "ray: address: head:99999 is not a Ray address"),
    ("rllib-address-dead", {"backend": "rllib", "normalize": False, "hyperparams": {},
                            "ray": {"address": "ray://127.0.0.1:1"}}, "ray: address: nothing answers at ray://127.0.0.1:1"),
    ("hybrid-dqn", {"mode": "hybrid", "algo": "dqn", "action": "discrete", "hyperparams": {}},
     "mode hybrid trains a planner"),
    ("single-site-no-others", {"mode": "single_site", "site": "retailer"}, "single_site needs 'others'"),
    ("single-site-bad-others", {"mode": "single_site", "site": "retailer", "others": "psychic"}, "others"),
    ("not-a-mapping", "just text", "a training config must be a mapping"),
]

# --------------------------------------------------------------------------- benchmark and study configs
BENCHMARK_CASES: list[tuple[str, Any, str]] = [
    ("episodes", 1, "episodes: must be >= 2 (got 1)"),
    ("episodes", 10**9, "episodes: must be at most 1,048,576"),
    ("episodes", "many", "episodes: must be a whole number"),
    ("seed", -1, "seed: must be >= 0"),
    ("seed", 2**40, "seed: must be at most 2,147,483,647"),
    ("scenarios", [], "scenarios: must have at least 1 item"),
    ("scenarios", "textbook_serial", "scenarios: must be a list"),
    ("scenarios", ["nowhere"], "scenarios[0]: unknown scenario 'nowhere'"),
    ("scenarios", [5], "scenarios.0: must be a string (got 5)"),
    ("scenarios", DELETE, "missing key 'scenarios'"),
    ("policies", DELETE, "missing key 'policies'"),
    ("policies", [], "policies"),
    ("policies", "sterman", "policies"),
    ("policies.0.policy", "psychic", "psychic"),
    ("policies.0.levels", [1, 2], "levels"),
    ("policies.0.levels", "best", "levels"),
    ("policies.1.label", "echelon", "echelon"),
    ("policies.1", {"label": "h", "policy": "hybrid", "levels": [6, 12, 22], "band": 0}, "local_levels: give"),
    ("policies.1", {"label": "h", "policy": "hybrid", "levels": [6, 12, 22], "local_levels": [6, 6, 10],
                    "band": "lots"}, "band: must be a number"),
    ("policies.1", {"label": "h", "policy": "hybrid", "levels": [6, 12, 22], "local_levels": [6, 6, 10],
                    "band": -1}, "band: site 'retailer': must be >= 0"),
    ("policies.1", {"label": "h", "policy": "hybrid", "levels": "optimal", "local_levels": [6, 6, 10], "band": 0},
     "are tuned together"),
    ("policies.1", {"label": "s", "policy": "local", "levels": [6, 6, 10], "reorder": -1},
     "reorder: site 'retailer': must be >= 0"),
    ("policies.1", {"label": "q", "policy": "central", "levels": [6, 12, 22], "joint": "often"},
     "joint: must be a number >= 0"),
    ("baseline", "nobody", "baseline"),
    ("warmup", -1, "warmup: must be >= 0"),
    ("warmup", 500, "warmup"),
    ("periods", 1, "periods: must be >= 2"),
    ("colour", "red", "unknown key 'colour'"),
]
STUDY_CASES: list[tuple[str, Any, str]] = [
    ("ray", {"address": "no-port"}, "ray: address: no-port is not a Ray address"),
    ("ray", {"adress": "auto"}, "ray"),
    ("ray", "auto", "ray"),
    ("episodes", 1, "episodes: must be >= 2 (got 1)"),
    ("purchase_order_cost", -5, "purchase_order_cost: must be > 0 (got -5)"),
    ("purchase_order_cost", "a lot", "purchase_order_cost: must be a number"),
    ("search_episodes", 0, "search_episodes: must be >= 2"),
    ("periods", 1, "periods: must be >= 2"),
    ("periods", 10**9, "periods: must be at most 1,000,000"),
    ("warmup", -1, "warmup: must be >= 0"),
    ("warmup", 99, "'warmup' 99 leaves too few of the 100 periods"),
    ("seed", "x", "seed: must be a whole number (got 'x')"),
    ("scenarios", ["nowhere"], "scenarios[0]: unknown scenario 'nowhere'"),
    ("scenarios", [], "scenarios: must have at least 1 item"),
    ("colour", "red", "unknown key 'colour'"),
    ("axes.delay", [-1], "axes.delay.0: must be >= 0"),
    ("axes.delay", [5000], "axes.delay.0: must be at most 1,000"),
    ("axes.delay", [], "axes.delay: must have at least 1 item"),
    ("axes.speed", [1], "axes.speed"),
    ("axes.lift", [-1.0], "axes.lift.0: must be >= 0"),
    ("advance_demand.rate", 2, "advance_demand.rate: must be at most 1"),
    ("advance_demand.when", 2, "advance_demand.when"),
    ("axes.record_error", [-1], "axes.record_error.0: must be >= 0"),
    ("record_error", 0.1, "unknown key 'record_error'"),
    ("hybrid_max_adjust", 1.0, "unknown key 'hybrid_max_adjust'"),
    ("learned", "runs/x", "learned: must be a list"),
    ("learned", ["nowhere"], "learned[0]"),
    ("axes.review_period", [0], "axes.review_period.0: must be >= 1"),
    ("axes.skill", [1.5], "axes.skill.0: must be at most 1"),
    ("axes.skill", ["high"], "axes.skill.0: must be a number"),
    ("axes.demand_cv", [0.2], "axes.demand_cv: 0.2 is not above the Poisson CV"),
    ("axes.demand_cv", [-1], "axes.demand_cv.0: must be > 0"),
    ("axes.delay", [1, 1], "axes.delay: a value is given twice"),
    ("axes.delay", list(range(51)), "axes.delay: must have at most 50 items"),
    ("axes", {"delay": list(range(50)), "skill": [round(0.02 * k, 2) for k in range(50)]}, "more than 2,000"),
    ("map.x", "colour", "map.x: must be 'delay', 'skill'"),
    ("map", {"x": "notice", "y": "notice"}, "map: x and y are both 'notice'"),
    ("map.z", "delay", "unknown key 'map.z'"),
]

# --------------------------------------------------------------------------- saved games
GAME: dict[str, Any] = {
    "version": 1, "scenario": "beer_game", "seed": 0, "periods": 2, "roles": ["retailer"],
    "others": {"policy": "sterman"}, "inputs": {"retailer": [4, 4]},
}
GAME_CASES: list[tuple[str, Any, str]] = [
    ("seed", "x", "saved game: seed: must be a whole number"),
    ("seed", -1, "saved game: seed: must be >= 0"),
    ("periods", 2.5, "saved game: periods: must be a whole number"),
    ("periods", 0, "saved game: periods: must be >= 1"),
    ("periods", 10**9, "saved game: periods: must be at most 10,000"),
    ("roles", "retailer", "saved game: roles: must be a list"),
    ("roles", [], "saved game: roles: must have at least 1 item"),
    ("roles", [5], "saved game: roles.0: must be a string"),
    ("scenario", 5, "saved game: scenario: must be a string"),
    ("scenario", "nowhere", "unknown scenario 'nowhere'"),
    ("others", "sterman", "saved game: others: must be a mapping"),
    ("inputs", {"retailer": ["a", "b"]}, "saved game: inputs.retailer.0"),
    ("inputs", {"retailer": [True, 1]}, "saved game: inputs.retailer.0"),
    ("inputs", {"retailer": [-4, 1]}, "saved game: inputs.retailer.0"),
    ("inputs", {"retailer": [4]}, "role 'retailer' has 1 orders for 2 weeks"),
    ("inputs", [4, 4], "saved game: inputs: must be a mapping"),
    ("orders", [["x"]], "saved game: orders.0.0: must be a number"),
    ("cheat", 1, "saved game: unknown key 'cheat'"),
    ("roles", DELETE, "saved game: missing key 'roles'"),
    ("version", 99, "not a saved game of this version"),
    ("roles", ["mayor"], "role 'mayor' has 0 orders for 2 weeks"),
    ("roles", ["retailer", "retailer"], "site 'retailer' is named twice"),
]


def _sqlite_bytes(sql: str) -> str:
    """An SQLite file made by ``sql``, as the catalogue's text (surrogate-escaped bytes)."""
    import sqlite3
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.db"
        with sqlite3.connect(path) as db:
            db.executescript(sql)
        db.close()
        return path.read_bytes().decode("utf-8", "surrogateescape")


def _other_sqlite() -> str:
    return _sqlite_bytes("CREATE TABLE sales (day TEXT, units INTEGER); INSERT INTO sales VALUES ('mon', 3);")


def _empty_sqlite() -> str:
    return _sqlite_bytes("CREATE TABLE t (x); DROP TABLE t;")


def _yaml(data: Any) -> str:
    return data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)


SCENARIO_COMMANDS: list[tuple[str, list[str], bool]] = [  # (id, command line, needs the benchmark file)
    ("show", ["show", "net.yaml"], False),
    ("optimal", ["optimal", "net.yaml"], False),
    ("play", ["play", "net.yaml", "--save", "g.json"], False),
    ("benchmark-scenario", ["benchmark", "b.yaml"], True),
    ("speed", ["speed", "--scenario", "net.yaml", "--seconds", "0.1"], False),
]


def _cases() -> list[tuple[str, list[str], dict[str, str], str]]:
    """Every case: (id, argv, files, fragment)."""
    cases = []
    bench = {"b.yaml": _yaml({**BENCHMARK, "scenarios": ["net.yaml"]})}
    for i, (path, value, fragment) in enumerate(SCENARIO_CASES):
        files = {"net.yaml": _yaml(_set(SCENARIO, path, value))}
        for command, argv, extra in SCENARIO_COMMANDS:  # every wrong scenario through every command that reads one
            cases.append((f"{command}-{i}-{path}", argv, files | (bench if extra else {}), fragment))
    for name, text, fragment in RAW_SCENARIO_FILES:
        cases.append((f"show-raw-{name}", ["show", "net.yaml"], {"net.yaml": text}, fragment))
        cases.append((f"optimal-raw-{name}", ["optimal", "net.yaml"], {"net.yaml": text}, fragment))
    for i, (path, value, fragment) in enumerate(TRAINING_CASES):
        files = {"t.yaml": _yaml(_set(TRAINING, path, value))}
        cases.append((f"train-{i}-{path}", ["train", "t.yaml", "--out", "run"], files, fragment))
    for name, change, fragment in TRAINING_EXTRA:
        data = change if isinstance(change, str) else {**TRAINING, **change}
        cases.append((f"train-{name}", ["train", "t.yaml"], {"t.yaml": _yaml(data)}, fragment))
    for i, (path, value, fragment) in enumerate(BENCHMARK_CASES):
        files = {"b.yaml": _yaml(_set(BENCHMARK, path, value))}
        cases.append((f"benchmark-{i}-{path}", ["benchmark", "b.yaml", "--out", "res"], files, fragment))
    for i, (path, value, fragment) in enumerate(STUDY_CASES):
        files = {"s.yaml": _yaml(_set(STUDY, path, value))}
        cases.append((f"study-{i}-{path}", ["study", "s.yaml", "--out", "res"], files, fragment))
    for i, (path, value, fragment) in enumerate(GAME_CASES):
        files = {"g.json": json.dumps(_set(GAME, path, value))}
        cases.append((f"replay-{i}-{path}", ["replay", "g.json", "--chart", "g.png"], files, fragment))
    cases += [
        ("replay-not-json", ["replay", "g.json"], {"g.json": "{not json"}, "malformed JSON"),
        ("replay-a-list", ["replay", "g.json"], {"g.json": "[1, 2]"}, "not a saved game"),
        ("replay-missing", ["replay", "nothing.json"], {}, "nothing.json: cannot read the saved game"),
        ("replay-a-folder", ["replay", "sub"], {"sub/x": ""}, "sub: a folder, not a regular file"),
    ]
    cases += CLI_CASES
    return cases


# --------------------------------------------------------------------------- command-line arguments
CLI_CASES: list[tuple[str, list[str], dict[str, str], str]] = [
    ("no-such-command", ["dance"], {}, "invalid choice: 'dance'"),
    ("show-no-scenario", ["show"], {}, "the following arguments are required: scenario"),
    ("show-unknown", ["show", "nowhere"], {}, "unknown scenario 'nowhere'"),
    ("show-missing-file", ["show", "nowhere.yaml"], {}, "nowhere.yaml: scenario file not found"),
    ("show-a-folder", ["show", "sub/"], {"sub/x": ""}, "sub/: scenario file not found"),
    ("show-unreadable-bytes", ["show", "net.yaml"], {"net.yaml": "name: \udcff"}, "net.yaml"),
    ("speed-rllib-sb3-config", ["speed", "--rllib", "quickstart"], {},
     "--rllib: quickstart is a backend sb3 config; give a backend rllib one"),
    ("speed-rllib-no-config", ["speed", "--rllib", "nowhere"], {}, "nowhere"),
    ("speed-seconds-inf", ["speed", "--seconds", "inf"], {}, "--seconds: must be > 0 and at most 600"),
    ("speed-seconds-nan", ["speed", "--seconds", "nan"], {}, "--seconds: must be > 0 and at most 600"),
    ("speed-seconds-zero", ["speed", "--seconds", "0"], {}, "--seconds: must be > 0"),
    ("speed-seconds-negative", ["speed", "--seconds", "-1"], {}, "--seconds"),
    ("speed-seconds-text", ["speed", "--seconds", "long"], {}, "--seconds: expected a number"),
    ("speed-batches-huge", ["speed", "--batches", "100000000"], {}, "--batches: batch sizes must be at most"),
    ("speed-batches-zero", ["speed", "--batches", "0"], {}, "--batches: batch sizes must be >= 1"),
    ("speed-batches-text", ["speed", "--batches", "1,x"], {}, "--batches: expected comma-separated whole numbers"),
    ("speed-batches-empty", ["speed", "--batches", ""], {}, "--batches"),
    ("speed-validate-zero", ["speed", "--validate", "0"], {}, "--validate: must be >= 1"),
    ("speed-validate-huge", ["speed", "--validate", "10000000"], {}, "--validate: must be at most 100,000"),
    ("speed-episode-zero", ["speed", "--episode", "0"], {}, "--episode: must be >= 1"),
    ("speed-episode-word", ["speed", "--episode", "many"], {}, "--episode"),
    ("speed-episode-huge", ["speed", "--episode", "99999999"], {}, "--episode: must be at most"),
    ("speed-episode-scenario", ["speed", "--scenario", "nowhere", "--episode", "2"], {}, "unknown scenario 'nowhere'"),
    ("speed-scenario-unknown", ["speed", "--scenario", "nowhere"], {}, "unknown scenario 'nowhere'"),
    ("optimal-episodes-1", ["optimal", "beer_game", "--episodes", "1"], {}, "--episodes: must be >= 2"),
    ("optimal-episodes-huge", ["optimal", "beer_game", "--episodes", "10000000000"], {}, "--episodes: must be at most"),
    ("optimal-seed-negative", ["optimal", "beer_game", "--seed", "-1"], {}, "--seed: must be >= 0"),
    ("optimal-seed-huge", ["optimal", "beer_game", "--seed", "99999999999"], {}, "--seed: must be at most"),
    ("optimal-method", ["optimal", "beer_game", "--method", "guess"], {}, "--method: invalid choice: 'guess'"),
    ("optimal-dp-multi-site", ["optimal", "beer_game", "--method", "dp"], {}, "the exact DP covers one site"),
    ("nash-share", ["nash", "two_stage", "--share", "2"], {}, "--share: must be in [0, 1]"),
    ("nash-tracking", ["nash", "two_stage", "--tracking", "global"], {}, "--tracking: invalid choice"),
    ("nash-episodes", ["nash", "two_stage", "--episodes", "1"], {}, "--episodes: must be >= 2"),
    ("reproduce-unknown", ["reproduce", "nature2030"], {}, "nature2030"),
    ("benchmark-unknown", ["benchmark", "nowhere"], {}, "unknown benchmark 'nowhere'"),
    ("benchmark-episodes-1", ["benchmark", "heuristics", "--episodes", "1"], {}, "--episodes: must be >= 2"),
    ("benchmark-periods-1", ["benchmark", "heuristics", "--periods", "1"], {}, "--periods: must be >= 2"),
    ("benchmark-periods-huge", ["benchmark", "heuristics", "--periods", "10000000000"], {},
     "--periods: must be at most"),
    ("benchmark-backend", ["benchmark", "heuristics", "--backend", "tpu"], {}, "--backend: invalid choice: 'tpu'"),
    ("benchmark-dtype", ["benchmark", "heuristics", "--backend", "jax", "--dtype", "float16"], {},
     "--dtype: invalid choice: 'float16'"),
    ("benchmark-no-device-form", ["benchmark", "lost_sales", "--backend", "jax"], {},
     "has no device form on the JAX back end"),
    ("speed-backend", ["speed", "--backend", "cuda"], {}, "--backend: invalid choice: 'cuda'"),
    ("optimal-backend", ["optimal", "lost_sales", "--backend", "gpu"], {}, "--backend: invalid choice: 'gpu'"),
    ("optimal-dp-float32", ["optimal", "lost_sales", "--method", "dp", "--backend", "jax", "--dtype", "float32"], {},
     "needs float64"),
    ("benchmark-out-exists", ["benchmark", "b.yaml", "--out", "res"], {"b.yaml": _yaml(BENCHMARK), "res/x": ""},
     "res: already exists"),
    ("benchmark-out-under-a-file", ["benchmark", "b.yaml", "--out", "f/res"], {"b.yaml": _yaml(BENCHMARK), "f": ""},
     "f/res: cannot write there (f is not a folder)"),
    ("benchmark-out-is-a-file", ["benchmark", "b.yaml", "--out", "f"], {"b.yaml": _yaml(BENCHMARK), "f": ""},
     "f: already exists"),
    ("study-unknown", ["study", "nowhere"], {}, "nowhere"),
    ("study-episodes-1", ["study", "--episodes", "1"], {}, "--episodes: must be >= 2"),
    ("study-ray-address", ["study", "--ray", "head:99999"], {}, "--ray: head:99999 is not a Ray address"),
    ("benchmark-ray-address", ["benchmark", "heuristics", "--ray", "ray://"], {}, "--ray: ray:// is not a Ray address"),
    ("benchmark-ray-jax", ["benchmark", "heuristics", "--ray", "auto", "--backend", "jax"], {},
     "--ray: with the NumPy back end only"),
    ("study-out-exists", ["study", "--out", "res"], {"res/x": ""}, "res: already exists"),
    ("study-out-under-a-file", ["study", "--out", "f/res"], {"f": ""}, "is not a folder"),
    ("study-scenario-missing", ["study", "--scenario", "nowhere.yaml", "--quick"], {}, "--scenario nowhere.yaml: "),
    ("study-scenario-broken", ["study", "--scenario", "net.yaml"], {"net.yaml": "sites: 3\n"}, "--scenario net.yaml: "),
    ("study-scenario-empty", ["study", "--scenario", ""], {}, "--scenario: "),
    ("train-nothing", ["train"], {}, "give a training config, or --resume RUN_DIR"),
    ("train-both", ["train", "quickstart", "--resume", "run"], {}, "give a training config, or --resume"),
    ("train-unknown", ["train", "nowhere"], {}, "unknown training config 'nowhere'"),
    ("train-timesteps-0", ["train", "quickstart", "--timesteps", "0"], {}, "--timesteps: must be >= 1"),
    ("train-timesteps-text", ["train", "quickstart", "--timesteps", "1e6"], {}, "--timesteps: expected a whole"),
    ("train-seed-huge", ["train", "quickstart", "--seed", "99999999999"], {}, "--seed: must be at most"),
    ("train-episodes-1", ["train", "quickstart", "--evaluate", "--episodes", "1"], {}, "--episodes: must be >= 2"),
    ("train-out-exists", ["train", "t.yaml", "--out", "run"], {"t.yaml": _yaml(TRAINING), "run/x": ""},
     "run: already exists"),
    ("train-out-under-a-file", ["train", "t.yaml", "--out", "f/run"], {"t.yaml": _yaml(TRAINING), "f": ""},
     "is not a folder"),
    ("train-resume-seed", ["train", "--resume", "run", "--seed", "3"], {"run/x": ""}, "--seed and --out do not apply"),
    ("train-resume-nowhere", ["train", "--resume", "nowhere"], {}, "not a training run folder"),
    ("train-resume-not-a-run", ["train", "--resume", "run"], {"run/x": ""}, "not a training run folder"),
    ("train-resume-garbage-config", ["train", "--resume", "run"], {"run/config.yaml": "[1, 2"}, "run/config.yaml"),
    ("train-resume-bad-groups", ["train", "--resume", "run"],
     {"run/config.yaml": _yaml({**TRAINING, "groups": "shared", "site_names": ["a"], "fingerprint": {}})},
     "run/config.yaml: groups: must be a list"),
    ("train-resume-bad-group", ["train", "--resume", "run"],
     {"run/config.yaml": _yaml({**TRAINING, "groups": [{"name": "shared", "sites": [], "joint": False,
                                                        "model": "m.zip"}], "site_names": ["a"], "fingerprint": {}})},
     "run/config.yaml: groups.0.sites: must have at least 1 item"),
    ("train-resume-edited-key", ["train", "--resume", "run"],
     {"run/config.yaml": _yaml({**TRAINING, "colour": "red", "groups": [], "site_names": [], "fingerprint": {}})},
     "run/config.yaml: unknown key 'colour'"),
    ("history-nothing", ["history"], {}, "give a demand-history CSV to read"),
    ("history-both", ["history", "h.csv", "--sample", "s.csv"], {"h.csv": "x"}, "not both"),
    ("history-sample-exists", ["history", "--sample", "s.csv"], {"s.csv": "x"}, "s.csv: already exists"),
    ("history-sample-under-a-file", ["history", "--sample", "f/s.csv"], {"f": ""}, "is not a folder"),
    ("history-missing", ["history", "nowhere.csv"], {}, "nowhere.csv: cannot read the demand history"),
    ("history-empty", ["history", "h.csv"], {"h.csv": ""}, "the demand history is empty"),
    ("history-no-site", ["history", "h.csv"], {"h.csv": "period,quantity\n0,4\n"}, "line 1: no column 'site'"),
    ("history-no-quantity", ["history", "h.csv"], {"h.csv": "period,site\n0,a\n"}, "line 1: no column 'quantity'"),
    ("history-no-time", ["history", "h.csv"], {"h.csv": "site,quantity\na,4\n"},
     "give one of the columns 'period' and 'date'"),
    ("history-both-times", ["history", "h.csv"], {"h.csv": "period,date,site,quantity\n0,2025-01-01,a,4\n"},
     "give one of the columns 'period' and 'date'"),
    ("history-no-rows", ["history", "h.csv"], {"h.csv": "period,site,quantity\n"}, "has no data rows"),
    ("history-bad-period", ["history", "h.csv"], {"h.csv": "period,site,quantity\n0,a,4\nx,a,5\n"},
     "line 3: column 'period': not a whole number ('x')"),
    ("history-negative-period", ["history", "h.csv"], {"h.csv": "period,site,quantity\n-1,a,4\n"},
     "line 2: column 'period': must be >= 0"),
    ("history-bad-date", ["history", "h.csv"], {"h.csv": "date,site,quantity\n2025-13-01,a,4\n"},
     "line 2: column 'date': not an ISO date"),
    ("history-off-grid-date", ["history", "h.csv"],
     {"h.csv": "date,site,quantity\n2025-01-06,a,4\n2025-01-13,a,4\n2025-01-23,a,1\n"},
     "line 4: column 'date': 2025-01-23 is not a whole number of 7-day periods"),
    ("history-misdated-row", ["history", "h.csv"],  # a Tuesday among Mondays: refused, not read as daily
     {"h.csv": "date,site,quantity\n2025-01-06,a,12\n2025-01-13,a,12\n2025-01-20,a,12\n2025-01-27,a,12\n"
               "2025-02-04,a,12\n2025-02-10,a,12\n2025-02-17,a,12\n"},
     "line 6: column 'date': 2025-02-04 is not a whole number of 7-day periods after 2025-01-06 (the file's "
     "dates are 7 days apart in 67% of its gaps)"),
    ("history-bad-quantity", ["history", "h.csv"], {"h.csv": "period,site,quantity\n0,a,lots\n"},
     "line 2: column 'quantity': not a number ('lots')"),
    ("history-negative-quantity", ["history", "h.csv"], {"h.csv": "period,site,quantity\n0,a,-3\n"},
     "line 2: column 'quantity': must be a finite number in [0, 1e+09]"),
    ("history-nan-quantity", ["history", "h.csv"], {"h.csv": "period,site,quantity\n0,a,nan\n"},
     "line 2: column 'quantity': must be a finite number"),
    ("history-empty-site", ["history", "h.csv"], {"h.csv": "period,site,quantity\n0,,3\n"},
     "line 2: column 'site' is empty"),
    ("history-short-row", ["history", "h.csv"], {"h.csv": "period,site,quantity\n0,a\n"},
     "line 2: column 'quantity' is missing"),
    ("history-twice", ["history", "h.csv"], {"h.csv": "period,site,quantity\n0,a,3\n1,a,2\n0,a,5\n"},
     "line 4: period 0, site 'a' is also on line 2"),
    ("history-too-long", ["history", "h.csv"], {"h.csv": "period,site,quantity\n0,a,3\n5000000,a,2\n"},
     "spans 5,000,001 periods, more than the limit"),
    ("scenario-history-no-site", ["show", "net.yaml"], {
        "h.csv": "period,site,quantity\n0,elsewhere,3\n1,elsewhere,4\n",
        "net.yaml": _yaml(_set(SCENARIO, "demand.retailer", {"kind": "history", "path": "h.csv"}))},
     "h.csv has no rows for site 'retailer' (sites: elsewhere)"),
    ("scenario-history-use", ["show", "net.yaml"], {
        "h.csv": "period,site,quantity\n0,retailer,3\n",
        "net.yaml": _yaml(_set(SCENARIO, "demand.retailer", {"kind": "history", "path": "h.csv", "use": "guess"}))},
     "field 'use' must be 'replay', 'fit' or 'empirical'"),
    ("scenario-history-fit-empty", ["show", "net.yaml"], {
        "h.csv": "period,site,quantity\n0,retailer,0\n1,retailer,0\n",
        "net.yaml": _yaml(_set(SCENARIO, "demand.retailer", {"kind": "history", "path": "h.csv", "use": "fit"}))},
     "the series has no demand (mean 0)"),
    ("scenario-history-too-short", ["benchmark", "b.yaml"], {
        "h.csv": "period,site,quantity\n0,retailer,3\n1,retailer,4\n",
        "net.yaml": _yaml(_set(SCENARIO, "demand.retailer", {"kind": "history", "path": "h.csv"})),
        "b.yaml": _yaml({**BENCHMARK, "scenarios": ["net.yaml"], "baseline": "sterman",
                         "policies": [{"label": "sterman", "policy": "sterman"}]})},
     "h.csv site 'retailer' has 2 periods, fewer than the 20 of an episode"),
    ("scenario-history-periods-override", ["benchmark", "b.yaml", "--periods", "30"], {
        "h.csv": "period,site,quantity\n" + "".join(f"{t},retailer,3\n" for t in range(25)),
        "net.yaml": _yaml(_set(SCENARIO, "demand.retailer", {"kind": "history", "path": "h.csv"})),
        "b.yaml": _yaml({**BENCHMARK, "scenarios": ["net.yaml"], "baseline": "sterman",
                         "policies": [{"label": "sterman", "policy": "sterman"}]})},
     "has 25 periods, fewer than the 30 of an episode"),
    ("evaluate-nowhere", ["evaluate", "nowhere"], {}, "not a training run folder"),
    ("evaluate-not-a-run", ["evaluate", "run"], {"run/x": ""}, "not a training run folder"),
    ("evaluate-garbage-config", ["evaluate", "run"], {"run/config.yaml": "a: [1"}, "run/config.yaml"),
    ("evaluate-config-a-list", ["evaluate", "run"], {"run/config.yaml": "[1, 2]\n"}, "run"),
    ("evaluate-episodes-1", ["evaluate", "run", "--episodes", "1"], {"run/x": ""}, "--episodes: must be >= 2"),
    ("play-role-twice", ["play", "--role", "retailer,retailer"], {}, "site 'retailer' is named twice"),
    ("play-role-unknown", ["play", "--role", "mayor"], {}, "--role: unknown site 'mayor'"),
    ("play-role-empty", ["play", "--role", ","], {}, "--role"),
    ("play-others-unknown", ["play", "--others", "psychic"], {}, "psychic"),
    ("play-periods-0", ["play", "--periods", "0"], {}, "--periods: must be >= 1"),
    ("play-periods-huge", ["play", "--periods", "10000000000"], {}, "--periods: must be at most"),
    ("play-seed-negative", ["play", "--seed", "-3"], {}, "--seed: must be >= 0"),
    ("play-save-exists", ["play", "--save", "g.json"], {"g.json": "{}"}, "g.json: already exists"),
    ("play-save-under-a-file", ["play", "--save", "f/g.json"], {"f": ""}, "is not a folder"),
    ("play-chart-under-a-file", ["play", "--chart", "f/c.png"], {"f": ""}, "is not a folder"),
    ("play-chart-is-a-folder", ["play", "--chart", "sub"], {"sub/x": ""}, "sub: is a folder"),
    ("play-save-same-as-chart", ["play", "--save", "g.json", "--chart", "g.json"], {}, "name the same file"),
    ("play-scenario-unknown", ["play", "nowhere"], {}, "unknown scenario 'nowhere'"),
    ("replay-chart-under-a-file", ["replay", "g.json", "--chart", "f/c.png"], {"g.json": json.dumps(GAME), "f": ""},
     "is not a folder"),
    ("replay-another-sqlite-file", ["replay", "x.db"], {"x.db": _other_sqlite()}, "x.db: not a classroom database"),
    ("replay-empty-sqlite-file", ["replay", "x.db"], {"x.db": _empty_sqlite()}, "x.db: not a classroom database"),
    ("classroom-port-0", ["classroom", "--port", "0"], {}, "--port: must be >= 1"),
    ("speed-browser-alone", ["speed", "--browser"], {}, "--browser: only with --classroom TEAMS"),
    ("speed-compare-nowhere", ["speed", "--compare", "nowhere"], {}, "--compare: nowhere is not a folder"),
    ("speed-compare-not-a-checkout", ["speed", "--compare", "sub"], {"sub/x.txt": "x"},
     "--compare: sub is not a checkout of Echelon"),
    ("speed-think-alone", ["speed", "--think", "2"], {}, "--think: only with --classroom TEAMS"),
    ("speed-think-negative", ["speed", "--classroom", "1", "--think", "-1"], {}, "--think: must be > 0"),
    ("classroom-public-url-ftp", ["classroom", "--public-url", "ftp://x"], {}, "--public-url: 'ftp://x' is not"),
    ("classroom-public-url-no-host", ["classroom", "--public-url", "https://"], {}, "--public-url:"),
    ("classroom-port-huge", ["classroom", "--port", "70000"], {}, "--port: must be at most 65,535"),
    ("classroom-port-text", ["classroom", "--port", "http"], {}, "--port"),
    ("classroom-join-limit-negative", ["classroom", "--join-limit", "-1"], {}, "--join-limit: must be >= 0"),
    ("classroom-join-limit-text", ["classroom", "--join-limit", "many"], {}, "--join-limit"),
    ("classroom-join-limit-huge", ["classroom", "--join-limit", "1000000"], {}, "--join-limit: must be at most"),
    ("classroom-host-unknown", ["classroom", "--host", "no.such.host.invalid"], {}, "--host: cannot listen on"),
    ("classroom-db-a-folder", ["classroom", "--db", "sub"], {"sub/x": ""}, "--db: sub is a folder"),
    ("classroom-db-no-folder", ["classroom", "--db", "none/c.db"], {}, "--db: folder none does not exist"),
    ("classroom-db-garbage", ["classroom", "--db", "c.db"], {"c.db": "not a database, just text" * 50},
     "c.db: not a classroom database"),
    ("classroom-db-another-sqlite-file", ["classroom", "--db", "x.db"], {"x.db": _other_sqlite()},
     "x.db: not a classroom database (it has other tables)"),
    ("scoreboard-unknown", ["scoreboard", "nowhere"], {}, "unknown scoreboard 'nowhere'"),
    ("scoreboard-bad-key", ["scoreboard", "s.yaml"], {"s.yaml": "seeds: [0]\nzipkn: {}\n"}, "zipkn"),
    ("scoreboard-lead-time-5", ["scoreboard", "s.yaml"], {"s.yaml": "zipkin: {lead_times: [5]}\n"},
     "lead_times"),
    ("scoreboard-unknown-training-config", ["scoreboard", "s.yaml"],
     {"s.yaml": "zipkin: null\ntrained: [{name: x, config: nowhere}]\n"}, "unknown training config 'nowhere'"),
    ("scoreboard-test-episodes-1", ["scoreboard", "s.yaml"],
     {"s.yaml": "zipkin: null\ntrained: [{name: x, config: es_textbook, test_episodes: 1}]\n"}, "test_episodes"),
    ("scoreboard-test-episodes-text", ["scoreboard", "s.yaml"],
     {"s.yaml": "zipkin: null\ntrained: [{name: x, config: es_textbook, test_episodes: many}]\n"}, "test_episodes"),
    ("scoreboard-site-unknown", ["scoreboard", "s.yaml"],
     {"s.yaml": "zipkin: null\ntrained: [{name: x, config: es_beer_game_dqn, site: brewery}]\n"},
     "trained: x: 'site' must name the learning site"),
    ("scoreboard-site-not-single-site", ["scoreboard", "s.yaml"],
     {"s.yaml": "zipkin: null\ntrained: [{name: x, config: es_textbook, site: retailer}]\n"},
     "trained: x: 'site' and 'others' apply to mode single_site only"),
    ("scoreboard-out-exists", ["scoreboard", "--out", "o"], {"o/x": ""}, "o: already exists"),
    ("scoreboard-zipkin-scenario-not-one-site", ["scoreboard", "s.yaml"],
     {"s.yaml": "zipkin: {scenarios: [textbook_serial]}\n"}, "this network has 3 sites"),
    ("scoreboard-zipkin-scenario-backlog", ["scoreboard", "s.yaml"],
     {"s.yaml": "zipkin: {scenarios: [beer_game_dqn]}\n"}, "beer_game_dqn"),
    ("speed-classroom-0", ["speed", "--classroom", "0"], {}, "--classroom: must be >= 1"),
    ("speed-classroom-huge", ["speed", "--classroom", "101"], {}, "--classroom: must be at most 100"),
]

# the cases the issue names, each as the user met it
ISSUE_CASES: list[tuple[str, list[str], dict[str, str], str]] = [
    ("issue-optimal-1e300", ["optimal", "net.yaml"], {"net.yaml": _yaml(_set(SCENARIO, "sites.0.backlog_cost", 1e300))},
     "field 'backlog_cost' must be at most 1e+09"),
    ("issue-optimal-1e308", ["optimal", "net.yaml"], {"net.yaml": _yaml(_set(SCENARIO, "sites.1.holding_cost", 1e308))},
     "field 'holding_cost' must be at most 1e+09"),
    ("issue-lead-time-1e9", ["optimal", "net.yaml"], {"net.yaml": _yaml(_set(SCENARIO, "sites.0.lead_time", 10**9))},
     "field 'lead_time' must be at most 1,000"),
    ("issue-periods-1e12", ["benchmark", "b.yaml"], {"net.yaml": _yaml(_set(SCENARIO, "periods", 10**12)),
                                                     "b.yaml": _yaml({**BENCHMARK, "scenarios": ["net.yaml"]})},
     "'periods' must be at most 1,000,000"),
    ("issue-episodes-1-cli", ["benchmark", "heuristics", "--episodes", "1"], {}, "--episodes: must be >= 2"),
    ("issue-episodes-1-config", ["benchmark", "b.yaml"], {"b.yaml": _yaml({**BENCHMARK, "episodes": 1})},
     "episodes: must be >= 2 (got 1)"),
    ("issue-evaluate-episodes-1", ["evaluate", "run", "--episodes", "1"], {}, "--episodes: must be >= 2"),
    ("issue-yaml-1e3-is-a-number", ["show", "net.yaml"],
     {"net.yaml": _yaml(SCENARIO).replace("holding_cost: 2", "holding_cost: -1e3")},
     "field 'holding_cost' must be >= 0 (got -1000.0)"),
]

# --------------------------------------------------------------------------- round two (issue 27)
FIFO = "\0fifo"  # a file given as this text is made a named pipe (a reader would block on it)
SPARSE = "\0sparse"  # ... a 300 MB sparse file (more than any input file may hold)
BOMB = "\n".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 9) if p else ', '.join(['lol'] * 9)}]"
                 for p, c in zip(["", *"abcdefgh"], "abcdefghi", strict=True)) + "\n"
"""A YAML "billion laughs": nine levels of nine aliases, 9^9 values once expanded."""
DEEP_YAML = "x: " + "[" * 5000 + "]" * 5000 + "\n"


def _bombed(text: str, key: str) -> str:
    """``text`` (a YAML mapping) with ``key`` set to the expanded bomb."""
    rest = {k: v for k, v in yaml.safe_load(text).items() if k != key}
    return BOMB + f"{key}: *i\n" + _yaml(rest)


NAME_VALUES = [("escape", "../escape"), ("slash", "a/b"), ("dotdot", ".."), ("dot", "."), ("lead-space", " x"),
               ("trail-space", "x "), ("nul", "x\x00y"), ("newline", "a\nb"), ("tab", "a\tb"),
               ("ansi", "\x1b[31mred"), ("backslash", "a\\b")]
NAME_FRAGMENT = {"escape": "must be a plain name", "slash": "must be a plain name", "dotdot": "must be a plain name",
                 "dot": "must be a plain name", "lead-space": "must be a plain name",
                 "trail-space": "must be a plain name", "nul": "must be printable", "newline": "must be printable",
                 "tab": "must be printable", "ansi": "must be printable", "backslash": "must be a plain name"}


def _round_two() -> list[tuple[str, list[str], dict[str, str], str]]:
    cases: list[tuple[str, list[str], dict[str, str], str]] = []
    for tag, value in NAME_VALUES:  # a config's name never leaves the output folder, never reaches a terminal raw
        frag = NAME_FRAGMENT[tag]
        cases += [
            (f"r2-train-name-{tag}", ["train", "t.yaml"], {"t.yaml": _yaml({**TRAINING, "name": value})}, frag),
            (f"r2-benchmark-name-{tag}", ["benchmark", "b.yaml"], {"b.yaml": _yaml({**BENCHMARK, "name": value})},
             frag),
            (f"r2-study-name-{tag}", ["study", "s.yaml"], {"s.yaml": _yaml({**STUDY, "name": value})}, frag),
            (f"r2-scenario-name-{tag}", ["show", "net.yaml"], {"net.yaml": _yaml({**SCENARIO, "name": value})},
             frag),
        ]
    for tag, value, frag in [("slash", "re/tailer", "must not contain '/'"),
                             ("ansi", "re\x1b[2Jtailer", "printable"), ("newline", "re\ntailer", "printable"),
                             ("nul", "re\x00tailer", "printable"), ("bell", "re\x07tailer", "printable"),
                             ("backslash", "re\\tailer", "must not contain")]:
        scen = _set(_set(SCENARIO, "sites.0.name", value), "demand", {value: {"kind": "poisson", "mean": 4}})
        cases.append((f"r2-site-name-{tag}", ["show", "net.yaml"], {"net.yaml": _yaml(scen)}, frag))
    product = {**SCENARIO, "demand": {}, "products": [{"name": "co/la", "demand": {"kind": "poisson", "mean": 3}}]}
    cases += [
        ("r2-product-slash", ["show", "net.yaml"], {"net.yaml": _yaml(product)}, "must not contain '/'"),
        ("r2-product-ansi", ["show", "net.yaml"],
         {"net.yaml": _yaml(_set(product, "products.0.name", "co\x1bla"))}, "printable"),
        ("r2-product-is-a-site", ["show", "net.yaml"],
         {"net.yaml": _yaml(_set(product, "products.0.name", "retailer"))},
         "product 'retailer' has the name of a site"),
        ("r2-capacity-name-ansi", ["show", "net.yaml"], {"net.yaml": _yaml(
            {**SCENARIO, "capacities": [{"name": "li\x1bne", "sites": ["warehouse"], "limit": 5}]})}, "printable"),
        ("r2-seasonal-negative-rate", ["show", "net.yaml"], {"net.yaml": _yaml(_set(SCENARIO, "demand.retailer", {
            "kind": "seasonal", "base": 2, "amplitude": 3, "cycle": 4}))}, "above the base 2"),
        ("r2-seasonal-clip-word", ["show", "net.yaml"], {"net.yaml": _yaml(_set(SCENARIO, "demand.retailer", {
            "kind": "seasonal", "base": 2, "amplitude": 1, "cycle": 4, "clip": "yes"}))},
         "'clip' must be true or false"),
        ("r2-step-after-horizon", ["show", "net.yaml"], {"net.yaml": _yaml(_set(SCENARIO, "demand.retailer", {
            "kind": "step", "before": 4, "after": 8, "at": 20}))}, "the step at period 20 never comes"),
        ("r2-notice-beyond-horizon", ["show", "net.yaml"], {"net.yaml": _yaml({**SCENARIO, "information": {
            "advance_demand": {"notice": 20, "rate": 0.2, "lift": 1}}})}, "notice 20 is not shorter than the 20"),
    ]
    scenario_text = _yaml(SCENARIO)
    for key in ("description", "sites", "demand"):  # billion laughs, in three places of a scenario
        cases.append((f"r2-bomb-scenario-{key}", ["show", "net.yaml"], {"net.yaml": _bombed(scenario_text, key)},
                      "expand to more than 1,000,000 values"))
    cases += [
        ("r2-bomb-optimal", ["optimal", "net.yaml"], {"net.yaml": _bombed(scenario_text, "description")},
         "expand to more than"),
        ("r2-bomb-training", ["train", "t.yaml"], {"t.yaml": _bombed(_yaml(TRAINING), "hyperparams")},
         "expand to more than"),
        ("r2-bomb-benchmark", ["benchmark", "b.yaml"], {"b.yaml": _bombed(_yaml(BENCHMARK), "policies")},
         "expand to more than"),
        ("r2-bomb-study", ["study", "s.yaml"], {"s.yaml": _bombed(_yaml(STUDY), "description")},
         "expand to more than"),
        ("r2-bomb-run-config", ["evaluate", "run"], {"run/config.yaml": _bombed("mode: shared\n", "groups")},
         "expand to more than"),
        ("r2-deep-yaml-scenario", ["show", "net.yaml"], {"net.yaml": DEEP_YAML}, "net.yaml"),
        ("r2-deep-yaml-training", ["train", "t.yaml"], {"t.yaml": DEEP_YAML}, "t.yaml"),
        ("r2-deep-yaml-benchmark", ["benchmark", "b.yaml"], {"b.yaml": DEEP_YAML}, "b.yaml"),
        ("r2-deep-yaml-study", ["study", "s.yaml"], {"s.yaml": DEEP_YAML}, "s.yaml"),
    ]
    for tag, argv, files, what in [  # files that are not files: a reader would block, or read forever
        ("fifo-scenario", ["show", "net.yaml"], {"net.yaml": FIFO}, "a pipe, not a regular file"),
        ("fifo-optimal", ["optimal", "net.yaml"], {"net.yaml": FIFO}, "a pipe, not a regular file"),
        ("fifo-history", ["history", "sales.csv"], {"sales.csv": FIFO}, "a pipe, not a regular file"),
        ("fifo-training", ["train", "t.yaml"], {"t.yaml": FIFO}, "a pipe, not a regular file"),
        ("fifo-benchmark", ["benchmark", "b.yaml"], {"b.yaml": FIFO}, "a pipe, not a regular file"),
        ("fifo-study", ["study", "s.yaml"], {"s.yaml": FIFO}, "a pipe, not a regular file"),
        ("fifo-game", ["replay", "g.json"], {"g.json": FIFO}, "a pipe, not a regular file"),
        ("fifo-run-config", ["evaluate", "run"], {"run/config.yaml": FIFO}, "a pipe, not a regular file"),
        ("fifo-demand-csv", ["show", "net.yaml"], {"net.yaml": _yaml(_set(SCENARIO, "demand.retailer", {
            "kind": "csv", "path": "d.csv", "column": "q"})), "d.csv": FIFO}, "a pipe, not a regular file"),
        ("fifo-demand-history", ["show", "net.yaml"], {"net.yaml": _yaml(_set(SCENARIO, "demand.retailer", {
            "kind": "history", "path": "h.csv"})), "h.csv": FIFO}, "a pipe, not a regular file"),
        ("fifo-empirical", ["show", "net.yaml"], {"net.yaml": _yaml(_set(SCENARIO, "demand.retailer", {
            "kind": "empirical", "path": "d.csv", "column": "q"})), "d.csv": FIFO}, "a pipe, not a regular file"),
        ("zero-history", ["history", "/dev/zero"], {}, "a device, not a regular file"),
        ("zero-scenario", ["show", "/dev/zero"], {}, "/dev/zero"),
        ("zero-game", ["replay", "/dev/zero"], {}, "a device, not a regular file"),
        ("null-history", ["history", "/dev/null"], {}, "a device, not a regular file"),
        ("folder-history", ["history", "sub"], {"sub/x": ""}, "a folder, not a regular file"),
        ("folder-game", ["replay", "sub"], {"sub/x": ""}, "a folder, not a regular file"),
        ("sparse-history", ["history", "big.csv"], {"big.csv": SPARSE}, "is more than the demand history may hold"),
        ("sparse-scenario", ["show", "big.yaml"], {"big.yaml": SPARSE}, "is more than a YAML file may hold"),
        ("sparse-game", ["replay", "big.json"], {"big.json": SPARSE}, "is more than a saved game may hold"),
        ("sparse-training", ["train", "big.yaml"], {"big.yaml": SPARSE}, "is more than a YAML file may hold"),
    ]:
        cases.append((f"r2-{tag}", argv, files, what))
    deep_game = "[" * 100_000 + "]" * 100_000
    cases += [
        ("r2-game-deep", ["replay", "g.json"], {"g.json": deep_game}, "JSON nested too deeply"),
        ("r2-game-deep-object", ["replay", "g.json"], {"g.json": '{"a":' * 100_000 + "1" + "}" * 100_000},
         "JSON nested too deeply"),
        ("r2-game-million-weeks", ["replay", "g.json"], {"g.json": json.dumps({**GAME, "periods": 1_000_000})},
         "periods: must be at most 10,000"),
        ("r2-play-weeks", ["play", "--periods", "20000"], {}, "--periods: must be at most 10,000"),
        ("r2-benchmark-days", ["benchmark", "heuristics", "--periods", "1000000", "--episodes", "1048576"], {},
         "more than the limit of 1e+12 (set ECHELON_MAX_SITE_STEPS"),
        ("r2-benchmark-days-config", ["benchmark", "b.yaml"], {"b.yaml": _yaml({**BENCHMARK, "episodes": 1_000_000,
                                                                                "periods": 1_000_000})},
         "site-periods to simulate"),
        ("r2-train-memory-copies", ["train", "t.yaml"], {"t.yaml": _yaml({**TRAINING, "scenario": "planner_network",
                                                                          "copies": 4096})},
         "buffers would need about"),
        ("r2-train-memory-buffer", ["train", "t.yaml"], {"t.yaml": _yaml({
            **TRAINING, "algo": "sac", "action": "continuous", "mode": "central",
            "hyperparams": {"buffer_size": 10_000_000, "policy_kwargs": {"net_arch": [8]}}, "copies": 2,
            "scenario": "planner_network"})},
         "a smaller buffer_size"),
        ("r2-train-trust-without-resume", ["train", "quickstart", "--trust-pickles"], {},
         "--trust-pickles applies to --resume only"),
        ("r2-resume-unsealed", ["train", "--resume", "run"], {
            "run/config.yaml": _yaml({"mode": "shared", "groups": [{"name": "shared", "sites": ["a"],
                                                                   "model": "models/shared.zip"}]})}, "run"),
    ]
    run_config = {"name": "r", "scenario": "textbook_serial", "mode": "shared", "algo": "ppo", "action": "target",
                  "observation": "local", "site_names": ["retailer", "wholesaler", "factory"]}
    for tag, groups, frag in [
        ("model-escapes", [{"name": "shared", "sites": ["retailer"], "model": "../../evil.zip"}],
         "model must be a path inside the run folder"),
        ("model-absolute", [{"name": "shared", "sites": ["retailer"], "model": "/tmp/evil.zip"}],
         "model must be a path inside the run folder"),
        ("groups-text", "all", "'groups' must list the run's model groups"),
        ("groups-empty", [], "'groups' must list the run's model groups"),
        ("group-no-model", [{"name": "shared", "sites": ["retailer"]}], "'groups' must list"),
    ]:
        files = {"run/config.yaml": _yaml({**run_config, "groups": groups})}
        cases.append((f"r2-run-{tag}", ["evaluate", "run"], files, frag))
    cases += [
        ("r2-run-algo-missing", ["evaluate", "run"], {"run/config.yaml": _yaml({**{k: v for k, v in run_config.items()
                                                                                 if k != "algo"},
                                                                              "groups": [{"name": "shared", "sites": [],
                                                                                          "model": "m.zip"}]})},
         "'algo' must be a name"),
        ("r2-run-pickles-only", ["evaluate", "run"], {
            "run/config.yaml": _yaml({**run_config, "groups": [{"name": "shared", "sites": ["retailer"],
                                                               "model": "models/shared.zip"}]}),
            "run/models/shared.zip": "PK"}, "run"),
    ]
    for tag, label in [("ansi", "a\x1b[2Jb"), ("newline", "a\nb"), ("nul", "a\x00b"), ("blank", "  ")]:
        bench = {**BENCHMARK, "baseline": None, "policies": [{"label": label, "policy": "sterman"}]}
        cases.append((f"r2-benchmark-label-{tag}", ["benchmark", "b.yaml"], {"b.yaml": _yaml(bench)},
                      "label must be printable characters"))
    csv_demand = {"kind": "csv", "path": "d.csv", "column": "q"}
    cases += [
        ("r2-study-scenario-bomb", ["study", "--scenario", "net.yaml"], {"net.yaml": _bombed(scenario_text, "sites")},
         "expand to more than"),
        ("r2-study-scenario-fifo", ["study", "--scenario", "net.yaml"], {"net.yaml": FIFO}, "a pipe"),
        ("r2-benchmark-scenario-fifo", ["benchmark", "b.yaml"], {"b.yaml": _yaml({**BENCHMARK,
                                                                                  "scenarios": ["net.yaml"]}),
                                                                 "net.yaml": FIFO}, "a pipe"),
        ("r2-zero-training", ["train", "/dev/zero"], {}, "/dev/zero"),
        ("r2-zero-benchmark", ["benchmark", "/dev/zero"], {}, "/dev/zero"),
        ("r2-deep-yaml-run-config", ["evaluate", "run"], {"run/config.yaml": DEEP_YAML}, "config.yaml"),
        ("r2-demand-csv-zero", ["show", "net.yaml"], {"net.yaml": _yaml(_set(SCENARIO, "demand.retailer", {
            **csv_demand, "path": "/dev/zero"}))}, "a device, not a regular file"),
        ("r2-demand-history-folder", ["show", "net.yaml"], {"net.yaml": _yaml(_set(SCENARIO, "demand.retailer", {
            "kind": "history", "path": "sub"})), "sub/x": ""}, "sub"),
        ("r2-demand-csv-sparse", ["show", "net.yaml"], {"net.yaml": _yaml(_set(SCENARIO, "demand.retailer",
                                                                                csv_demand)), "d.csv": SPARSE},
         "is more than a CSV file may hold"),
        ("r2-benchmark-sparse", ["benchmark", "b.yaml"], {"b.yaml": SPARSE}, "is more than a YAML file may hold"),
        ("r2-chart-device", ["replay", "g.json", "--chart", "/dev/full"], {"g.json": json.dumps(GAME)},
         "/dev/full: not a regular file"),
        ("r2-chart-device-null", ["replay", "g.json", "--chart", "/dev/null"], {"g.json": json.dumps(GAME)},
         "/dev/null: not a regular file"),
    ]
    return cases


CASES = _cases() + ISSUE_CASES + _round_two()


def test_catalogue_size():
    """The issue asks for its own cases and at least 250 more."""
    assert len(CASES) >= 300, len(CASES)
    assert len({c[0] for c in CASES}) == len(CASES), "case ids must be unique"


def _make_files(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if text == FIFO:
            os.mkfifo(path)
        elif text == SPARSE:
            with open(path, "wb") as handle:
                handle.truncate(300 * 2**20)
        else:
            path.write_bytes(text.encode("utf-8", "surrogateescape"))


def _listing(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize(("argv", "files", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(argv, files, fragment, tmp_path, monkeypatch, capsys, quiet_warnings):
    from echelon.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # a case that reached a prompt would end, not hang
    _make_files(tmp_path, files)
    before = _listing(tmp_path)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("echelon") and "error" in lines[0], err
    assert fragment in lines[0], f"expected {fragment!r} in: {lines[0]}"
    assert "Traceback" not in err
    assert _listing(tmp_path) == before, "left something behind"


REAL_PROCESS = ["speed-seconds-inf", "show-raw-duplicate-key", "train-0-hyperparams.batch_size",
                "replay-not-json", "play-role-twice", "r2-fifo-history", "r2-bomb-scenario-sites", "r2-game-deep",
                "r2-zero-history", "r2-site-name-ansi"]


@pytest.mark.slow
@pytest.mark.parametrize("case_id", REAL_PROCESS)
def test_bad_input_in_a_real_process(case_id, tmp_path):
    """The same one line from ``python -m echelon`` itself: exit 2, no traceback."""
    _, argv, files, fragment = next(c for c in CASES if c[0] == case_id)
    _make_files(tmp_path, files)
    before = _listing(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "echelon", *argv], cwd=tmp_path, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120, env=os.environ | {"PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and fragment in proc.stderr, proc.stderr
    assert _listing(tmp_path) == before


# --------------------------------------------------------------------------- outputs and the API

def test_a_default_name_taken_meanwhile_becomes_the_next_free_one(tmp_path):
    """A second benchmark started beside another: the name planned at the start is taken when it
    finishes, so its results go to NAME-2 instead of being discarded."""
    from echelon.envs.files import Output

    first = Output.plan(None, tmp_path, "heuristics")
    second = Output.plan(None, tmp_path, "heuristics")
    assert first.path == second.path == tmp_path / "heuristics"
    assert first.write_folder({"a.txt": "first"}) == tmp_path / "heuristics"
    assert second.write_folder({"a.txt": "second"}) == tmp_path / "heuristics-2"
    assert (tmp_path / "heuristics" / "a.txt").read_text() == "first"
    assert (tmp_path / "heuristics-2" / "a.txt").read_text() == "second"
    explicit = Output.plan(tmp_path / "heuristics", tmp_path, "x")
    with pytest.raises(FileExistsError, match="already exists"):
        explicit.check()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heuristics", "heuristics-2"]  # no temp folder left


def test_a_run_killed_while_it_wrote_leaves_nothing_that_blocks_the_rerun(tmp_path):
    """A results folder is filled under a temporary name and renamed into place in one step (no empty folder
    claims the name first, which a kill left behind, and the rerun then failed with "already exists"); the
    rerun sweeps the temporary a dead process left; a live process's temporary is left alone."""
    from echelon.cli import main
    from echelon.envs.files import temporary_folder

    dead = tmp_path / ".res.4194999.abc123.tmp"  # a pid above Linux's largest: no process has it
    dead.mkdir()
    (dead / "half.csv").write_text("x")
    live = temporary_folder(tmp_path, ".res.")  # this test's own process: alive
    before = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert main(["benchmark", "heuristics", "--episodes", "2", "--periods", "5", "--out", "res"]) == 0
    finally:
        os.chdir(before)
    assert (tmp_path / "res" / "results.csv").is_file()
    assert not dead.exists() and live.exists()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("keep")
    from echelon.envs.files import Output

    with pytest.raises(FileExistsError, match="already exists"):
        Output(tmp_path / "full").check()
    with pytest.raises(FileExistsError, match="already exists"):
        Output(tmp_path / "full").write_folder({"a.txt": "x"})
    assert sorted(p.name for p in (tmp_path / "full").iterdir()) == ["mine.txt"]


def test_files_are_written_with_the_umask_permissions(tmp_path):
    """mkstemp alone gives 0600; a class or team sharing a folder must be able to read the results."""
    from echelon.envs.files import Output, write_atomic

    old = os.umask(0o022)
    try:
        path = write_atomic(tmp_path / "a.json", "{}")
        folder = Output(tmp_path / "res").write_folder({"r.csv": "x\n"})
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644
    assert folder.stat().st_mode & 0o777 == 0o755
    assert (folder / "r.csv").stat().st_mode & 0o777 == 0o644


def test_an_order_must_be_a_number_and_the_env_reset_first():
    import numpy as np

    from echelon.envs.errors import ActionError
    from echelon.envs.parallel import parallel_env

    env = parallel_env(scenario="beer_game")
    with pytest.raises(ActionError, match=r"step\(\) before reset\(\)"):
        env.step({a: 4 for a in env.possible_agents})
    env.reset(seed=0)
    for order in (True, np.bool_(False), np.array([True]), "4", None):
        with pytest.raises(ActionError, match="action of 'retailer'"):
            env.step({a: order for a in env.agents})
    env.step({a: 4 for a in env.agents})  # the refused steps changed nothing
    assert env.sim.period == 1


def test_a_failed_run_leaves_no_folder_and_out_can_be_reused(tmp_path, monkeypatch, capsys):
    """A training run that fails after its folder was made (here: SB3 raising mid-learn) removes it."""
    from echelon.cli import main
    from echelon.training.train import Trainer

    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.yaml").write_text(_yaml(TRAINING))

    def broken(self, n_timesteps):
        raise ValueError("simulated failure inside training")

    monkeypatch.setattr(Trainer, "train", broken)
    assert main(["train", "t.yaml", "--out", "run"]) == 2
    assert "simulated failure" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_an_exclusive_write_works_without_hard_links(tmp_path, monkeypatch):
    """Some shared file systems refuse hard links: the name is then claimed with O_EXCL instead."""
    from echelon.envs.files import write_atomic

    def no_links(src, dst):
        raise PermissionError("operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    path = write_atomic(tmp_path / "game.json", "{}", exclusive=True)
    assert path.read_text() == "{}"
    with pytest.raises(FileExistsError):
        write_atomic(tmp_path / "game.json", "[]", exclusive=True)
    assert path.read_text() == "{}" and sorted(p.name for p in tmp_path.iterdir()) == ["game.json"]


# --------------------------------------------------------------------------- a full disk, a read-only one

def test_a_full_disk_names_the_path_and_says_so(tmp_path, monkeypatch, capsys):
    """A write that runs out of space: one line naming the results folder and 'the disk is full' (the bare
    OSError says '[Errno 28] No space left on device' and names nothing), exit 2, nothing left behind."""
    import errno

    from echelon.cli import main

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "res"
    assert main(["benchmark", "heuristics", "--episodes", "2", "--periods", "5", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"echelon: error: {out}: cannot write: the disk is full (no space left on device)"]
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_place_is_reported_as_read_only(tmp_path, monkeypatch, capsys):
    from echelon.cli import main

    real = os.statvfs

    class ReadOnly:
        def __init__(self, path):
            self.f_flag = real(path).f_flag | os.ST_RDONLY

    monkeypatch.setattr(os, "statvfs", ReadOnly)
    out = tmp_path / "res"
    assert main(["benchmark", "heuristics", "--episodes", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"echelon: error: {out}: cannot write under {tmp_path} (read-only file system)"]


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small file system needs root")
def test_a_really_full_disk(tmp_path):
    """The same on a real 64 KB file system (tmpfs), in a real process: the chart of a played game."""
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(small)],
                      capture_output=True).returncode != 0:
        pytest.skip("no tmpfs mount here")
    try:
        (small / "filler").write_bytes(b"x" * 60_000)
        proc = subprocess.run([sys.executable, "-m", "echelon", "play", "beer_game", "--periods", "3",
                               "--chart", str(small / "c.png")], input="4\n4\n4\n", capture_output=True,
                              text=True, timeout=120, env=os.environ | {"PYTHONWARNINGS": "ignore"})
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip().splitlines() == [(
            f"echelon: error: {small / 'c.png'}: cannot write: the disk is full (no space left on device)")]
        assert sorted(p.name for p in small.iterdir()) == ["filler"]
    finally:
        subprocess.run(["umount", str(small)], check=False)
