"""Training configs (YAML in ``configs/training/``), validated into :class:`TrainConfig`.

Example (``configs/training/shared_ppo_textbook.yaml``)::

    name: shared_ppo_textbook
    scenario: textbook_serial
    mode: shared          # shared | central | single_site | independent
    algo: ppo             # ppo | a2c | dqn (discrete actions) | sac | td3 (continuous actions)
    reward: cooperative   # cooperative | decentralized | a weight w in [0, 1] on the team cost
    action: target        # target | discrete | demand_plus | continuous (envs.actions)
    observation: local    # local | shared | global | pipeline (agents.learned)
    backend: sb3          # sb3 (Stable-Baselines3) | rllib (Ray RLlib: shared or independent PPO, see below)
    copies: 16            # copies of the scenario simulated side by side
    n_timesteps: 1500000  # SB3 timesteps: slot-periods (copies x sites x periods for a shared policy)
    seed: 0
    normalize: true       # VecNormalize observations and rewards (sb3; the default there)
    eval_freq: 100000     # timesteps between evaluations (and the learning curve's points)
    eval_episodes: 200
    checkpoint_freq: 200000  # also a checkpoint every checkpoint_minutes of wall time (default 2)
    hyperparams:          # keyword arguments of the SB3 algorithm, rl-zoo3 names
      n_steps: 100
      batch_size: 1600
      learning_rate: 3.0e-4   # or lin_3.0e-4: decays linearly to 0
      policy_kwargs: {net_arch: [64, 64], activation_fn: tanh}

``single_site`` also takes ``site`` (the learner) and ``others`` (the other
sites' policy, as in a benchmark); ``independent`` takes
``rotation_timesteps`` (each site's model trains that long in turn while the
others act with their current models).

``backend: rllib`` (``pip install 'echelon[rllib]'``) trains with Ray RLlib's PPO on the
PettingZoo env in the learner view (:mod:`training.rllib`): ``mode: shared`` (one module for
every site) or ``mode: independent`` (a module per site, all trained simultaneously on the same
episodes). ``hyperparams`` are then arguments of ``PPOConfig.training`` (``lr``, ``gamma``,
``lambda_``, ``train_batch_size_per_learner``, ``minibatch_size``, ``num_epochs``, ...) plus
``policy_kwargs: {net_arch, activation_fn}``, and ``ray`` says where it runs::

    ray:
      address: null              # null: a local Ray; "auto" or "ray://head:10001": an existing cluster
      num_env_runners: 0         # sampling processes (0: sample in the driver)
      num_envs_per_env_runner: 16
      num_cpus: null             # CPUs of a local Ray (null: all)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from echelon.agents.learned import VIEW_LEVELS, algorithm_class
from echelon.agents.registry import make_policy
from echelon.envs.actions import ACTION_FORMS
from echelon.envs.errors import ConfigError
from echelon.envs.limits import MAX_BATCH, MAX_SEED, MAX_TIMESTEPS
from echelon.envs.rewards import reward_weight
from echelon.envs.scenario import Scenario, load_scenario, read_yaml, resolve_yaml, whole_number
from echelon.training.hyperparams import check_hyperparams

TRAINING_DIR = Path(__file__).resolve().parent.parent / "configs" / "training"
MODES = ("shared", "central", "single_site", "independent", "hybrid")
BACKENDS = ("sb3", "rllib")
DISCRETE_ONLY = ("dqn",)
CONTINUOUS_ONLY = ("sac", "td3")


@dataclass
class TrainConfig:
    """A validated training config; see the module docstring for every field."""

    name: str
    scenario: str
    mode: str = "shared"
    algo: str = "ppo"
    reward: str | float = "cooperative"
    action: str = "target"
    observation: str = "local"
    backend: str = "sb3"
    copies: int = 16
    n_timesteps: int = 1_000_000
    seed: int = 0
    normalize: bool | None = None  # None: True with sb3, False with rllib
    eval_freq: int = 100_000
    eval_episodes: int = 200
    checkpoint_freq: int = 200_000
    checkpoint_minutes: float = 2.0  # a SIGKILL loses at most this much wall time of training
    site: str | None = None
    others: Any = None
    rotation_timesteps: int = 100_000
    max_order: Any = None
    max_adjust: int = 2
    hyperparams: dict[str, Any] = field(default_factory=dict)
    ray: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_training_path(name_or_path: str | Path) -> Path:
    """A built-in training config name (``quickstart``) or a path to a YAML file."""
    return resolve_yaml(name_or_path, TRAINING_DIR, "training config")


def load_train_config(name_or_path: str | Path | Mapping[str, Any], where: str | None = None) -> TrainConfig:
    """Read and validate a training config (file, built-in name, or mapping); errors name file and key."""
    if isinstance(name_or_path, Mapping):
        raw, src = dict(name_or_path), where or "training config"
    else:
        path = resolve_training_path(name_or_path)
        raw, src = read_yaml(path), str(path)
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{src}: a training config must be a mapping of keys (got {type(raw).__name__})")
        raw = dict(raw)
        raw.setdefault("name", path.stem)
    known = {f for f in TrainConfig.__dataclass_fields__}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{src}: unknown key '{unknown[0]}' (keys: {', '.join(sorted(known))})")
    if "scenario" not in raw:
        raise ConfigError(f"{src}: missing key 'scenario'")
    config = TrainConfig(**raw)
    if config.normalize is None:
        config.normalize = config.backend == "sb3"
    validate(config, src)
    return config


def validate(config: TrainConfig, src: str) -> None:
    """Check every field, and that the algorithm fits the action space and the mode."""
    try:
        scenario = load_scenario(config.scenario)
    except ConfigError as exc:
        raise ConfigError(f"{src}: scenario: {exc}") from None
    if config.mode not in MODES:
        raise ConfigError(f"{src}: 'mode' must be one of {', '.join(MODES)} (got {config.mode!r})")
    if config.backend not in BACKENDS:
        raise ConfigError(f"{src}: 'backend' must be one of {', '.join(BACKENDS)} (got {config.backend!r})")
    try:
        reward_weight(config.reward)
    except ValueError as exc:
        raise ConfigError(f"{src}: {exc}") from None
    if config.action not in ACTION_FORMS:
        raise ConfigError(f"{src}: 'action' must be one of {', '.join(ACTION_FORMS)} (got {config.action!r})")
    if config.observation not in VIEW_LEVELS:
        raise ConfigError(f"{src}: 'observation' must be one of {', '.join(VIEW_LEVELS)} (got {config.observation!r})")
    for key, minimum, maximum in (("copies", 1, MAX_BATCH), ("n_timesteps", 1, MAX_TIMESTEPS), ("seed", 0, MAX_SEED),
                                  ("eval_freq", 1, MAX_TIMESTEPS), ("eval_episodes", 2, MAX_BATCH),
                                  ("checkpoint_freq", 1, MAX_TIMESTEPS), ("rotation_timesteps", 1, MAX_TIMESTEPS),
                                  ("max_adjust", 1, 1_000_000)):
        whole_number(getattr(config, key), f"{src}: '{key}'", minimum, maximum)
    minutes = config.checkpoint_minutes
    if isinstance(minutes, bool) or not isinstance(minutes, int | float) or not 0 < minutes <= 1440:
        raise ConfigError(f"{src}: 'checkpoint_minutes' must be a number of minutes in (0, 1440] (got {minutes!r})")
    if not isinstance(config.normalize, bool):
        raise ConfigError(f"{src}: 'normalize' must be true or false (got {config.normalize!r})")
    if config.mode == "single_site":
        if config.site not in scenario.site_names:
            raise ConfigError(f"{src}: 'site' must name the learning site, one of {', '.join(scenario.site_names)} "
                              f"(got {config.site!r})")
        if config.others is None:
            raise ConfigError(f"{src}: single_site needs 'others', the policy of the other sites (e.g. sterman)")
        make_policy(config.others, scenario, where=f"{src}: others")
    elif config.site is not None or config.others is not None:
        raise ConfigError(f"{src}: 'site' and 'others' apply to mode single_site only")
    if not isinstance(config.ray, Mapping):
        raise ConfigError(f"{src}: 'ray' must be a mapping (address, num_env_runners, ...)")
    if config.backend == "rllib":
        from echelon.training.rllib import validate_rllib

        validate_rllib(config, src)
        return
    if config.ray:
        raise ConfigError(f"{src}: 'ray' applies to backend rllib only")
    try:
        algorithm_class(config.algo)
    except ValueError as exc:
        raise ConfigError(f"{src}: {exc}") from None
    continuous = config.action == "continuous"
    if config.algo in DISCRETE_ONLY and (continuous or config.mode == "central"):
        raise ConfigError(f"{src}: algo '{config.algo}' needs one discrete action per slot: use a discrete action "
                          "form and a per-site mode (not central)")
    if config.algo in CONTINUOUS_ONLY and not continuous:
        raise ConfigError(f"{src}: algo '{config.algo}' needs continuous actions: set action: continuous")
    if config.mode == "hybrid" and config.algo not in ("ppo", "a2c"):
        raise ConfigError(f"{src}: mode hybrid trains a planner (continuous targets) and sites (discrete "
                          f"adjustments): use algo ppo or a2c (got {config.algo!r})")
    config.hyperparams = check_hyperparams(config.algo, config.hyperparams, src)


def algorithm_kwargs(config: TrainConfig) -> dict[str, Any]:
    """The SB3 constructor arguments of validated ``hyperparams``: rl-zoo3 ``lin_<x>`` schedules and
    ``activation_fn`` names resolved to what SB3 takes."""
    kwargs = dict(config.hyperparams)
    for key in ("learning_rate", "clip_range"):
        value = kwargs.get(key)
        if isinstance(value, str):
            kwargs[key] = _linear(float(value[4:]))
    if kwargs.get("train_freq") is not None and isinstance(kwargs["train_freq"], list | tuple):
        kwargs["train_freq"] = tuple(kwargs["train_freq"])
    policy_kwargs = kwargs.get("policy_kwargs")
    if policy_kwargs is not None:
        policy_kwargs = dict(policy_kwargs)
        act = policy_kwargs.get("activation_fn")
        if act is not None:
            import torch

            policy_kwargs["activation_fn"] = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "elu": torch.nn.ELU,
                                              "leaky_relu": torch.nn.LeakyReLU}[act]
        kwargs["policy_kwargs"] = policy_kwargs
    return kwargs


def _linear(start: float):  # noqa: ANN202 - an SB3 schedule
    def schedule(progress_remaining: float) -> float:
        return progress_remaining * start

    return schedule


def group_layout(config: TrainConfig, scenario: Scenario) -> list[dict[str, Any]]:
    """The model groups of a mode: name, sites, joint, and where their files go."""
    names = list(scenario.site_names)
    if config.mode == "shared":
        layout = [("shared", names, False)]
    elif config.mode == "central":
        layout = [("central", names, True)]
    elif config.mode == "single_site":
        layout = [(config.site, [config.site], False)]
    elif config.mode == "hybrid":
        layout = [("planner", names, True), ("sites", names, False)]
    else:
        layout = [(n, [n], False) for n in names]
    if config.backend == "rllib":
        return [{"name": g, "sites": s, "joint": j, "model": f"models/{g}.rlmodule"} for g, s, j in layout]
    return [{"name": g, "sites": s, "joint": j, "model": f"models/{g}.zip", "normalizer": f"models/{g}.vecnorm.pkl"}
            for g, s, j in layout]
