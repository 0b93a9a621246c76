"""Training configs (YAML in ``configs/training/``), validated into :class:`TrainConfig`.

Example (``configs/training/shared_ppo_textbook.yaml``)::

    name: shared_ppo_textbook
    scenario: textbook_serial
    mode: shared          # shared | central | single_site | independent
    algo: ppo             # ppo | a2c | dqn (discrete actions) | sac | td3 (continuous actions) | es
    reward: cooperative   # cooperative | decentralized | a weight w in [0, 1] on the team cost
    action: target        # target | continuous_target | discrete | demand_plus | continuous (envs.actions)
    observation: local    # local | shared | global | pipeline (agents.learned)
    backend: sb3          # sb3 (Stable-Baselines3, Echelon's ES) | jax (ES, PPO on the device) | rllib (RLlib PPO)
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

``algo: es`` learns without Stable-Baselines3: evolution strategies search the weights of a small
network directly on the cost, a population of weight vectors playing common episodes in the batched
core (:mod:`training.es`, :mod:`agents.es`); modes shared, central and single_site, level or
quantity action forms, no normalisation (the observations are already scaled); ``hyperparams``
are :class:`training.hyperparams.ESParams` (pairs, episodes, sigma, learning_rate, net_arch), and
``n_timesteps`` counts the slot-periods the whole population simulates.

``backend: rllib`` (``pip install 'echelon[rllib]'``) trains with Ray RLlib's PPO on the
PettingZoo env in the learner view (:mod:`training.rllib`): ``mode: shared`` (one module for
every site) or ``mode: independent`` (a module per site, all trained simultaneously on the same
episodes). ``hyperparams`` are then arguments of ``PPOConfig.training`` (``lr``, ``gamma``,
``lambda_``, ``train_batch_size_per_learner``, ``minibatch_size``, ``num_epochs``, ...) plus
``policy_kwargs: {net_arch, activation_fn}``, and ``ray`` says where it runs::

    ray:
      address: null              # null: a local Ray; "auto" or "ray://head:10001": an existing cluster
      num_env_runners: 0         # sampling processes (0: sample in the driver)
      num_envs_per_env_runner: 64  # copies each sampler steps (one core call on the batched core)
      num_cpus: null             # CPUs of a local Ray (null: all)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from echelon.agents.learner_view import VIEW_LEVELS
from echelon.agents.registry import make_policy
from echelon.envs.actions import ACTION_FORMS
from echelon.envs.errors import ConfigError
from echelon.envs.limits import MAX_BATCH, MAX_SEED, MAX_TIMESTEPS
from echelon.envs.scenario import Scenario, load_scenario, read_yaml, resolve_yaml
from echelon.envs.validation import FileName, Float, Int, parse_model
from echelon.training.algorithms import ALGORITHMS, algorithm_of, known_algo, known_backend, known_mode
from echelon.training.hyperparams import linear_start
from echelon.training.modes import MODES

TRAINING_DIR = Path(__file__).resolve().parent.parent / "configs" / "training"


Whole = Annotated[Int, Field(ge=1, le=MAX_TIMESTEPS)]


class TrainConfig(BaseModel):
    """A training config, declared once: every key, its type, its range and what it means.

    :func:`load_train_config` validates a file against it (one line per failure, naming the file and
    the key) and then checks what depends on several keys or on the scenario (:func:`validate`)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    name: FileName
    """The run's name (default: the file's stem); runs go to runs/NAME, so one plain name."""
    scenario: Annotated[str, Field(min_length=1, strict=True)]
    """The scenario trained on: a built-in name or a YAML path."""
    mode: Annotated[str, Field(strict=True), AfterValidator(known_mode)] = "shared"
    """What one model controls: shared (every site, one policy), central (all sites jointly), single_site,
    independent (a model per site) or hybrid (a central planner and site adjustments)."""
    algo: Annotated[str, Field(strict=True), AfterValidator(known_algo)] = "ppo"
    """The algorithm: ppo, a2c, dqn (discrete actions), sac or td3 (continuous actions), or es (evolution
    strategies on the batched core, no SB3)."""
    reward: Literal["cooperative", "decentralized"] | Annotated[Float, Field(ge=0.0, le=1.0)] = "cooperative"
    """Cooperative (the team cost), decentralized (each site's own cost) or a weight w in [0, 1] on the team cost."""
    action: Literal[tuple(ACTION_FORMS)] = "target"  # type: ignore[valid-type]
    """The action form: target, continuous_target, discrete, demand_plus or continuous (envs.actions)."""
    observation: Literal[VIEW_LEVELS] = "local"  # type: ignore[valid-type]
    """What a site sees: local, shared, global or pipeline (agents.learned)."""
    backend: Annotated[str, Field(strict=True), AfterValidator(known_backend)] = "sb3"
    """sb3 (Stable-Baselines3) or rllib (Ray RLlib: shared or independent PPO)."""
    copies: Annotated[Int, Field(ge=1, le=MAX_BATCH)] = 16
    """Copies of the scenario simulated side by side."""
    n_timesteps: Whole = 1_000_000
    """Timesteps to train (slot-periods: copies x sites x periods for a shared policy)."""
    seed: Annotated[Int, Field(ge=0, le=MAX_SEED)] = 0
    """The run's seed: same seed, same run."""
    normalize: StrictBool | None = None
    """VecNormalize observations and rewards (null: true with sb3, false with rllib)."""
    eval_freq: Whole = 100_000
    """Timesteps between evaluations on the held-out episodes (the learning curve's points)."""
    eval_episodes: Annotated[Int, Field(ge=2, le=MAX_BATCH)] = 200
    """Held-out episodes per evaluation (at least 2, for a confidence interval)."""
    checkpoint_freq: Whole = 200_000
    """Timesteps between checkpoints."""
    checkpoint_minutes: Annotated[Float, Field(gt=0.0, le=1440.0)] = 2.0
    """Minutes of wall time between checkpoints as well: a kill loses at most this much training."""
    site: Annotated[str, Field(strict=True)] | None = None
    """mode single_site: the site that learns."""
    others: Any = None
    """mode single_site: the other sites' policy, as in a benchmark (e.g. sterman)."""
    rotation_timesteps: Whole = 100_000
    """modes independent and hybrid (sb3): timesteps each model trains in turn."""
    max_order: Any = None
    """The largest order or target an action can express, per site (null: from the scenario)."""
    max_adjust: Annotated[Int, Field(ge=1, le=1_000_000)] = 2
    """mode hybrid: the largest adjustment a site makes to the planner's target."""
    hyperparams: dict[str, Any] = {}
    """Arguments of the algorithm (training.hyperparams declares them per algorithm and backend)."""
    ray: dict[str, Any] = {}
    """backend rllib: where the run samples (training.hyperparams.RaySettings)."""

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Group(BaseModel):
    """One model group of a run: which sites it orders for and where its files are."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    name: Annotated[str, Field(min_length=1, strict=True)]
    """The group's name (shared, central, a site's name, planner, sites)."""
    sites: Annotated[list[Annotated[str, Field(strict=True)]], Field(min_length=1)]
    """The sites the group's model orders for."""
    joint: StrictBool
    """One joint action for all its sites (central) or one action per site."""
    model: Annotated[str, Field(min_length=1, strict=True)]
    """The model's file in the run folder."""
    normalizer: Annotated[str, Field(strict=True)] | None = None
    """Its VecNormalize statistics (sb3 with normalize: true)."""


class RunRecord(TrainConfig):
    """A run folder's ``config.yaml``: the resolved training config, its model groups, the sites it was
    trained on and the fingerprint :mod:`agents.learned` checks before a model is played."""

    groups: Annotated[list[Group], Field(min_length=1)]
    """The model groups (:func:`group_layout`)."""
    site_names: Annotated[list[Annotated[str, Field(strict=True)]], Field(min_length=1)]
    """The scenario's sites, downstream first."""
    fingerprint: dict[str, Annotated[str, Field(strict=True)]]
    """Digests of the scenario and of the fields that decide what the models see and do."""


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
    config = parse_model(TrainConfig, raw, src)
    if config.normalize is None:
        entry = ALGORITHMS.get((config.backend, config.algo))
        config.normalize = entry is not None and entry.normalize_default
    validate(config, src)
    return config


def validate(config: TrainConfig, src: str) -> None:
    """Check every field, and that the algorithm fits the action space and the mode."""
    try:
        scenario = load_scenario(config.scenario)
    except ConfigError as exc:
        raise ConfigError(f"{src}: scenario: {exc}") from None
    if config.mode == "single_site":
        if config.site not in scenario.site_names:
            raise ConfigError(f"{src}: 'site' must name the learning site, one of {', '.join(scenario.site_names)} "
                              f"(got {config.site!r})")
        if config.others is None:
            raise ConfigError(f"{src}: single_site needs 'others', the policy of the other sites (e.g. sterman)")
        make_policy(config.others, scenario, where=f"{src}: others")
    elif config.site is not None or config.others is not None:
        raise ConfigError(f"{src}: 'site' and 'others' apply to mode single_site only")
    if config.ray and config.backend != "rllib":
        raise ConfigError(f"{src}: 'ray' applies to backend rllib only")
    algorithm_of(config, src).check(config, src)


def algorithm_kwargs(config: TrainConfig) -> dict[str, Any]:
    """The SB3 constructor arguments of validated ``hyperparams``: rl-zoo3 ``lin_<x>`` schedules and
    ``activation_fn`` names resolved to what SB3 takes."""
    kwargs = dict(config.hyperparams)
    for key in ("learning_rate", "clip_range"):
        start = linear_start(kwargs.get(key))
        if start is not None:
            kwargs[key] = _linear(start)
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
    """The model groups of a config's mode (:data:`training.modes.MODES`): name, sites, joint, and where
    the algorithm's files go."""
    algorithm = algorithm_of(config)
    groups = []
    for name, sites, joint in MODES[config.mode].groups(config, scenario):
        group = {"name": name, "sites": sites, "joint": joint, "model": f"models/{name}{algorithm.model_file}"}
        if algorithm.normalizer:
            group["normalizer"] = f"models/{name}.vecnorm.pkl"
        groups.append(group)
    return groups
