"""A training run folder's record, read as data: its resolved config, the checks that it is whole and
unedited (fingerprints of what the models were trained on) and the policy it is scored against.

Written by :mod:`training.run_folder`, read by :class:`~agents.learned.LearnedPolicy`, the benchmarks
(:func:`evaluation.benchmark.learned_benchmark`) and the scoreboard.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from echelon.envs.errors import ConfigError
from echelon.envs.scenario import Scenario, read_yaml
from echelon.envs.validation import shown


@dataclass(frozen=True)
class RunFolder:
    """Every file and folder of a training run, named once: written by :mod:`training.run_folder` and the
    trainers, read by learned policies, the benchmarks, the scoreboard and the command line."""

    root: Path

    @property
    def config(self) -> Path:
        """The resolved config with its model groups and fingerprint (:class:`training.config.RunRecord`)."""
        return self.root / "config.yaml"

    @property
    def models(self) -> Path:
        """The best models by held-out cost: each group's model and its pickle-free policy file."""
        return self.root / "models"

    @property
    def checkpoints(self) -> Path:
        """Numbered checkpoint generations, each sealed (:mod:`training.seal`)."""
        return self.root / "checkpoints"

    @property
    def eval_csv(self) -> Path:
        """The learning curve's points: held-out cost per evaluation."""
        return self.root / "eval.csv"

    @property
    def curve(self) -> Path:
        """The learning curve's picture."""
        return self.root / "learning_curve.png"

    @property
    def tensorboard(self) -> Path:
        """TensorBoard's event files."""
        return self.root / "tb"


OPTIMAL_SPEC: dict[str, Any] = {"policy": "echelon_base_stock", "levels": "optimal"}
"""The best echelon base-stock policy: Clark–Scarf where exact, else searched (:mod:`agents.optimal`)."""


def read_run_config(run_dir: Path) -> dict[str, Any]:
    """The resolved config of a run folder; a clear error if it is not one."""
    path = RunFolder(Path(run_dir)).config
    if not path.exists() or path.is_dir():
        raise ConfigError(f"{run_dir}: not a training run folder (no config.yaml)")
    data = read_yaml(path)
    if not isinstance(data, dict) or "mode" not in data or "groups" not in data:
        raise ConfigError(f"{path}: not a resolved training config (missing 'mode' or 'groups')")
    return data


def check_run_record(run_dir: Path, data: dict[str, Any]) -> None:
    """What evaluating a run folder relies on in its ``config.yaml``: groups with a name, sites and a model path
    inside the folder, and the names of algorithm, action and observation (one line each, never a KeyError)."""
    path = RunFolder(Path(run_dir)).config
    groups = data["groups"]
    if not isinstance(groups, list) or not groups or not all(
            isinstance(g, dict) and isinstance(g.get("name"), str) and isinstance(g.get("model"), str)
            and isinstance(g.get("sites"), list) for g in groups):
        raise ConfigError(f"{path}: 'groups' must list the run's model groups, each with name, sites and model")
    for key in ("algo", "action", "observation"):
        if not isinstance(data.get(key), str):
            raise ConfigError(f"{path}: not a resolved training config ('{key}' must be a name)")
    for g in groups:
        model = Path(g["model"])
        if model.is_absolute() or ".." in model.parts:
            raise ConfigError(f"{path}: group '{g['name']}': model must be a path inside the run folder "
                              f"(got {g['model']!r})")


FINGERPRINTED = ("mode", "backend", "algo", "action", "observation", "normalize", "max_order", "max_adjust", "site",
                 "others", "groups", "site_names")
"""The keys of a run's config that decide what its models see and do (``fingerprint.config`` covers them)."""


FINGERPRINT_VERSION = "2"
"""Fingerprints of named fields (version 2). Version 1 (runs trained before it, no ``version`` key) digested
``repr(scenario)``, so any new field changed every digest; its runs are still checked the old way."""
UNFINGERPRINTED = ("name", "description", "source", "periods", "information")
"""A scenario's fields a trained model does not depend on (a study evaluates runs under other horizons and
information models)."""


def canonical(value: Any) -> Any:
    """``value`` as JSON-ready data of named fields: a dataclass as ``{"type": its class name, field: value}``
    with every field at its default left out, so a new optional field leaves old digests as they were;
    mappings sorted, sequences and arrays as lists, floats exactly (``repr``)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {"type": type(value).__name__}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if f.default is not dataclasses.MISSING and _same(item, f.default):
                continue
            if f.default_factory is not dataclasses.MISSING and _same(item, f.default_factory()):
                continue
            out[f.name] = canonical(item)
        return out
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, np.ndarray | list | tuple):
        return [canonical(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, np.generic):
        return canonical(value.item())
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return repr(value)
    return repr(value)  # (anything else: its text)


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(np.array_equal(a, b)) if isinstance(a, np.ndarray) or isinstance(b, np.ndarray) else bool(a == b)
    except (TypeError, ValueError):
        return False


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def scenario_fingerprint(scenario: Scenario) -> str:
    """A digest of everything a trained model depends on in a scenario: sites, costs, lead times, demand,
    timing, bottlenecks, products (:func:`canonical` of every field but :data:`UNFINGERPRINTED`)."""
    data = canonical(scenario)
    return _digest({k: v for k, v in data.items() if k not in UNFINGERPRINTED})


def run_fingerprint(config: Mapping[str, Any], scenario: Scenario) -> dict[str, str]:
    """What ``echelon train`` records in a run's ``config.yaml`` and :class:`LearnedPolicy` checks: the
    :data:`FINGERPRINTED` keys that are set, and the scenario."""
    fields = {k: canonical(config[k]) for k in FINGERPRINTED if config.get(k) is not None}
    return {"version": FINGERPRINT_VERSION, "scenario": scenario_fingerprint(scenario), "config": _digest(fields)}


def _fingerprint_v1(config: Mapping[str, Any], scenario: Scenario) -> dict[str, str]:
    """Version 1, for runs trained before version 2: ``repr`` of the scenario, every key of the config."""
    core = dataclasses.replace(scenario, name="", description="", source="", periods=0, information=None)
    text = repr(core) + (repr(scenario.capacities) if scenario.capacities else "")
    fields = json.dumps({k: config.get(k) for k in FINGERPRINTED}, sort_keys=True, default=str)
    return {"scenario": hashlib.sha256(text.encode()).hexdigest()[:16],
            "config": hashlib.sha256(fields.encode()).hexdigest()[:16]}


def check_fingerprint(run_dir: Path, config: Mapping[str, Any], scenario: Scenario) -> None:
    """Refuse a run folder whose config was edited, or that was trained on another scenario, with the reason."""
    recorded = config.get("fingerprint")
    if not isinstance(recorded, Mapping):
        raise ConfigError(f"{run_dir}: config.yaml has no fingerprint of what the models were trained on "
                          "(an older or hand-made run folder): retrain it")
    version = recorded.get("version", "1")
    if version not in ("1", FINGERPRINT_VERSION):
        raise ConfigError(f"{run_dir}: fingerprint version {shown(str(version))} is newer than this Echelon "
                          f"knows (up to {FINGERPRINT_VERSION}): update Echelon")
    now = run_fingerprint(config, scenario) if version == FINGERPRINT_VERSION else _fingerprint_v1(config, scenario)
    if recorded.get("config") != now["config"]:
        raise ConfigError(f"{run_dir}: config.yaml was edited after training (mode, action, observation, "
                          "normalisation or groups differ from what the models were trained with)")
    if recorded.get("scenario") != now["scenario"]:
        raise ConfigError(f"{run_dir}: trained on another scenario than '{scenario.name}' (its sites, costs, lead "
                          "times, demand or timing differ); evaluate it on the scenario it was trained on")


def reference_spec(config: Mapping[str, Any] | Any) -> dict[str, Any]:
    """The policy spec a run is scored against (:attr:`training.run_folder.RunBook.reference_policy`): the
    best response at the learning site for ``mode: single_site``, else :data:`OPTIMAL_SPEC`."""
    get = config.get if isinstance(config, Mapping) else lambda key: getattr(config, key)
    if get("mode") == "single_site":
        return {"policy": "site_base_stock", "site": get("site"), "level": "optimal", "others": get("others")}
    return dict(OPTIMAL_SPEC)
