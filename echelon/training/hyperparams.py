"""The Stable-Baselines3 hyperparameters a training config may set, declared once per algorithm.

``hyperparams:`` in a training config is checked against these pydantic models before anything
runs or is written: a wrong type, a value outside its range or a key the algorithm does not take
is a one-line error naming the file and the key (:func:`check_hyperparams`). Names and defaults
are SB3's (Raffin et al. 2021, "Stable-Baselines3: Reliable Reinforcement Learning
Implementations", JMLR 22(268)); the ranges are where the algorithm is defined: a discount
gamma in [0, 1], a clipping range epsilon > 0 (Schulman et al. 2017, PPO), a minibatch of at
least 2 transitions (advantage normalisation divides by their standard deviation), and so on.
Arguments that take Python objects (``action_noise``, ``replay_buffer_class``, ...) cannot be
written in YAML and are not declared.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from echelon.envs.errors import ConfigError
from echelon.envs.limits import MAX_BATCH as MAX_COPIES
from echelon.envs.validation import Float, Int, check_model, no_bool

ACTIVATIONS = ("tanh", "relu", "elu", "leaky_relu")
LINEAR = re.compile(r"^lin_(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")


def _schedule(value: Any) -> Any:
    """A number, or rl-zoo3's ``lin_<x>``: x decaying linearly to 0 over the run."""
    if isinstance(value, str):
        if not LINEAR.match(value) or float(value[4:]) <= 0:
            raise ValueError("must be a number > 0 or lin_<number> (decays linearly to 0)")
        return value
    return no_bool(value)


def linear_start(value: float | str) -> float | None:
    """x of a (validated) ``lin_<x>`` schedule; None for a plain number. The one reader of the form."""
    return float(value[4:]) if isinstance(value, str) else None


Discount = Annotated[Float, Field(ge=0.0, le=1.0)]
Fraction = Discount
Schedule = Annotated[Annotated[Float, Field(gt=0.0)] | str, BeforeValidator(_schedule)]


class PolicyKwargs(BaseModel):
    """``policy_kwargs``: the networks of SB3's ``MlpPolicy``."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    net_arch: list[Annotated[Int, Field(ge=1, le=4096)]] | dict[
        Literal["pi", "vf", "qf"], list[Annotated[Int, Field(ge=1, le=4096)]]] | None = None
    """Hidden layer widths, e.g. [64, 64], or separate ones {pi: [64], vf: [64]} (qf for SAC/TD3)."""
    activation_fn: Literal[ACTIVATIONS] | None = None  # type: ignore[valid-type]
    """The hidden layers' activation: tanh, relu, elu or leaky_relu."""
    ortho_init: StrictBool | None = None
    """Orthogonal initialisation of the weights (on-policy algorithms)."""
    log_std_init: Float | None = None
    """Initial log standard deviation of a Gaussian policy (continuous actions)."""
    share_features_extractor: StrictBool | None = None
    """Whether actor and critic share the features extractor."""
    n_critics: Annotated[Int, Field(ge=1, le=10)] | None = None
    """Q-networks of SAC and TD3."""


class _Common(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    learning_rate: Schedule = 3e-4
    """Adam's step size alpha, or lin_<alpha> (decays linearly to 0)."""
    gamma: Discount = 0.99
    """Discount factor gamma of the return, in [0, 1]."""
    stats_window_size: Annotated[Int, Field(ge=1)] = 100
    """Episodes averaged in the logged rollout statistics."""
    policy_kwargs: PolicyKwargs | None = None
    """The policy networks (net_arch, activation_fn, ...)."""


class _OnPolicy(_Common):
    n_steps: Annotated[Int, Field(ge=1, le=1_000_000)] = 2048
    """Steps per copy of the env in each rollout (the rollout holds n_steps x copies transitions)."""
    gae_lambda: Fraction = 0.95
    """lambda of generalised advantage estimation (Schulman et al. 2016), in [0, 1]."""
    ent_coef: Annotated[Float, Field(ge=0.0)] = 0.0
    """Weight of the entropy bonus in the loss, >= 0."""
    vf_coef: Annotated[Float, Field(ge=0.0)] = 0.5
    """Weight of the value loss, >= 0."""
    max_grad_norm: Annotated[Float, Field(gt=0.0)] = 0.5
    """Gradient clipping norm, > 0."""
    use_sde: StrictBool = False
    """Generalised state-dependent exploration (continuous actions)."""
    sde_sample_freq: Annotated[Int, Field(ge=-1)] = -1
    """Steps between gSDE noise samples (-1: once per rollout)."""


class PPOParams(_OnPolicy):
    """Proximal policy optimisation (Schulman et al. 2017)."""

    batch_size: Annotated[Int, Field(ge=2)] = 64
    """Minibatch size, >= 2 (advantages are normalised over a minibatch)."""
    n_epochs: Annotated[Int, Field(ge=1, le=1000)] = 10
    """Passes over each rollout."""
    clip_range: Schedule = 0.2
    """Clipping range epsilon of the probability ratio, > 0, or lin_<epsilon>."""
    clip_range_vf: Annotated[Float, Field(gt=0.0)] | None = None
    """Clipping range of the value function (null: none)."""
    normalize_advantage: StrictBool = True
    """Normalise advantages per minibatch."""
    target_kl: Annotated[Float, Field(gt=0.0)] | None = None
    """Stop an update's epochs early past this KL divergence (null: never)."""


class A2CParams(_OnPolicy):
    """Advantage actor-critic (Mnih et al. 2016), synchronous."""

    learning_rate: Schedule = 7e-4
    """RMSprop's (or Adam's) step size, or lin_<alpha>."""
    n_steps: Annotated[Int, Field(ge=1, le=1_000_000)] = 5
    """Steps per copy of the env in each update."""
    gae_lambda: Fraction = 1.0
    """lambda of generalised advantage estimation (1: plain n-step returns)."""
    rms_prop_eps: Annotated[Float, Field(gt=0.0)] = 1e-5
    """RMSprop's epsilon."""
    use_rms_prop: StrictBool = True
    """RMSprop (true) or Adam (false)."""
    normalize_advantage: StrictBool = False
    """Normalise advantages."""


TrainFreq = Annotated[Int, Field(ge=1)] | tuple[Annotated[Int, Field(ge=1)], Literal["step", "episode"]]


class _OffPolicy(_Common):
    buffer_size: Annotated[Int, Field(ge=1, le=10_000_000)] = 1_000_000
    """Transitions the replay buffer holds (at most 10 million: the buffer is allocated up front)."""
    learning_starts: Annotated[Int, Field(ge=0)] = 100
    """Steps collected before learning starts."""
    batch_size: Annotated[Int, Field(ge=1, le=1_000_000)] = 256
    """Minibatch size of each gradient step."""
    tau: Annotated[Float, Field(gt=0.0, le=1.0)] = 0.005
    """Polyak coefficient of the target network update, in (0, 1]."""
    train_freq: TrainFreq = 1
    """Update every this many steps, or [n, step|episode]."""
    gradient_steps: Annotated[Int, Field(ge=-1)] = 1
    """Gradient steps per update (-1: as many as steps collected)."""
    optimize_memory_usage: StrictBool = False
    """SB3's memory-efficient replay buffer."""
    n_steps: Annotated[Int, Field(ge=1, le=1000)] = 1
    """n of n-step returns."""


class DQNParams(_OffPolicy):
    """Deep Q-network (Mnih et al. 2015)."""

    learning_rate: Schedule = 1e-4
    """Adam's step size, or lin_<alpha>."""
    batch_size: Annotated[Int, Field(ge=1, le=1_000_000)] = 32
    """Minibatch size."""
    tau: Annotated[Float, Field(gt=0.0, le=1.0)] = 1.0
    """Target update coefficient (1: hard update)."""
    train_freq: TrainFreq = 4
    """Update every this many steps, or [n, step|episode]."""
    target_update_interval: Annotated[Int, Field(ge=1)] = 10_000
    """Steps between target network updates."""
    exploration_fraction: Fraction = 0.1
    """Fraction of the run over which epsilon decays."""
    exploration_initial_eps: Fraction = 1.0
    """Initial epsilon of epsilon-greedy exploration."""
    exploration_final_eps: Fraction = 0.05
    """Final epsilon."""
    max_grad_norm: Annotated[Float, Field(gt=0.0)] = 10.0
    """Gradient clipping norm."""


def _sac_entropy(value: Any) -> Any:
    if isinstance(value, str):
        if value != "auto" and not re.match(r"^auto_\d+(\.\d*)?([eE][-+]?\d+)?$", value):
            raise ValueError("must be a number > 0, 'auto' or 'auto_<initial value>'")
        return value
    return no_bool(value)


class SACParams(_OffPolicy):
    """Soft actor-critic (Haarnoja et al. 2018)."""

    ent_coef: Annotated[Annotated[Float, Field(gt=0.0)] | str, BeforeValidator(_sac_entropy)] = "auto"
    """Entropy coefficient alpha > 0, or 'auto' / 'auto_<initial>' to learn it."""
    target_update_interval: Annotated[Int, Field(ge=1)] = 1
    """Gradient steps between target updates."""
    target_entropy: Annotated[Float | Literal["auto"], BeforeValidator(no_bool)] = "auto"
    """Target entropy of the learned alpha ('auto': minus the action dimension)."""
    use_sde: StrictBool = False
    """Generalised state-dependent exploration."""
    sde_sample_freq: Annotated[Int, Field(ge=-1)] = -1
    """Steps between gSDE noise samples."""
    use_sde_at_warmup: StrictBool = False
    """gSDE instead of uniform sampling before learning starts."""


class TD3Params(_OffPolicy):
    """Twin delayed DDPG (Fujimoto et al. 2018)."""

    learning_rate: Schedule = 1e-3
    """Adam's step size, or lin_<alpha>."""
    policy_delay: Annotated[Int, Field(ge=1)] = 2
    """Critic updates per actor update."""
    target_policy_noise: Annotated[Float, Field(ge=0.0)] = 0.2
    """Standard deviation of the target policy smoothing noise."""
    target_noise_clip: Annotated[Float, Field(ge=0.0)] = 0.5
    """Clip of the target policy smoothing noise."""


class ESParams(BaseModel):
    """Evolution strategies on the batched core (``algo: es``, :mod:`training.es`; Salimans et al. 2017)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    pairs: Annotated[Int, Field(ge=1, le=4096)] = 16
    """Antithetic pairs theta +- sigma eps per iteration (the population is twice as many)."""
    episodes: Annotated[Int, Field(ge=1, le=MAX_COPIES)] = 32
    """Episodes every member of an iteration plays (the same ones: common random numbers)."""
    sigma: Schedule = 0.01
    """Standard deviation sigma of the weight perturbations, or lin_<sigma>: decays linearly to sigma / 20
    (a kinked cost, as under deterministic demand, needs fine perturbations at the end)."""
    learning_rate: Schedule = 0.02
    """Adam's step size on the weights, or lin_<alpha> (decays linearly to 0)."""
    net_arch: list[Annotated[Int, Field(ge=1, le=4096)]] = []
    """Hidden tanh layers, e.g. [32, 32]; [] is a linear policy (Mania et al. 2018)."""
    warm_start: Literal["none", "reference"] = "none"
    """``reference``: start from the run's reference policy, the best base-stock levels (mode central with
    action echelon_target: the best echelon levels; mode single_site with action target or
    continuous_target: the site's best base-stock response) instead of the sites' natural levels."""


class JaxPPOParams(BaseModel):
    """PPO with the environment and the learner on the JAX device (``backend: jax, algo: ppo``,
    :mod:`training.jax_ppo`; Schulman et al. 2017, in the style of PureJaxRL)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    episodes: Annotated[Int, Field(ge=1, le=MAX_COPIES)] = 16
    """Whole episodes played side by side per iteration (the rollout)."""
    n_epochs: Annotated[Int, Field(ge=1, le=100)] = 4
    """Passes over each rollout."""
    minibatches: Annotated[Int, Field(ge=1, le=1024)] = 4
    """Minibatches per pass."""
    learning_rate: Schedule = 3e-4
    """Adam's step size, or lin_<alpha> (decays linearly to 0)."""
    gamma: Discount = 0.99
    """Discount factor."""
    gae_lambda: Fraction = 0.95
    """GAE's lambda (Schulman et al. 2016)."""
    clip_range: Annotated[Float, Field(gt=0.0, le=1.0)] = 0.2
    """PPO's ratio clip epsilon."""
    ent_coef: Annotated[Float, Field(ge=0.0)] = 0.0
    """Weight of the Gaussian's entropy bonus."""
    vf_coef: Annotated[Float, Field(ge=0.0)] = 0.5
    """Weight of the critic's squared error."""
    max_grad_norm: Annotated[Float, Field(gt=0.0)] = 0.5
    """Gradients are scaled down to at most this norm."""
    log_std_init: Annotated[Float, Field(ge=-10.0, le=2.0)] = -2.0
    """Initial log standard deviation of the exploration in the network's output y (the action is
    anchor x (1 + y)): -2 explores about 14% around the anchor."""
    net_arch: list[Annotated[Int, Field(ge=1, le=4096)]] = []
    """The actor's hidden tanh layers (the ES network's; [] is linear)."""
    vf_arch: list[Annotated[Int, Field(ge=1, le=4096)]] = [64, 64]
    """The critic's hidden tanh layers."""
    warm_start: Literal["none", "reference"] = "none"
    """As for ES: ``reference`` starts the actor at the run's best base-stock levels."""


def check_hyperparams(algo: str, model: type[BaseModel], raw: Any, src: str) -> dict[str, Any]:
    """Validate ``hyperparams`` of ``algo`` against its declared ``model``; returns only the keys given (the
    library keeps its defaults for the rest). A failure is one line: ``src: hyperparams: KEY: what is allowed
    (got VALUE)``."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{src}: 'hyperparams' must be a mapping of {algo.upper()} arguments (got {raw!r})")
    unknown = sorted(str(k) for k in raw if k not in model.model_fields)
    if unknown:
        raise ConfigError(f"{src}: hyperparams: {algo.upper()} has no argument '{unknown[0]}' Echelon can pass on "
                          f"(arguments: {', '.join(model.model_fields)})")
    return check_model(model, raw, src, "hyperparams")


class RLlibPolicyKwargs(BaseModel):
    """``policy_kwargs`` with ``backend: rllib``, SB3's names mapped onto RLlib's ``DefaultModelConfig``."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    net_arch: list[Annotated[Int, Field(ge=1, le=4096)]] = [64, 64]
    """Hidden layer widths of the policy and (separate) value networks, e.g. [64, 64]."""
    activation_fn: Literal[ACTIVATIONS] = "tanh"  # type: ignore[valid-type]
    """The hidden layers' activation: tanh, relu, elu or leaky_relu."""


class RLlibPPOParams(BaseModel):
    """``hyperparams`` with ``backend: rllib``: arguments of RLlib's ``PPOConfig.training`` (new API stack).

    Defaults are RLlib's, except where :data:`training.rllib.DEFAULTS` says why Echelon's differ
    (lambda_, vf_clip_param, the batch sizes and epochs)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    lr: Annotated[Float, Field(gt=0.0)] = 5e-5
    """Adam's step size."""
    gamma: Discount = 0.99
    """Discount factor gamma, in [0, 1]."""
    lambda_: Fraction = 0.95
    """lambda of generalised advantage estimation, in [0, 1]."""
    train_batch_size_per_learner: Annotated[Int, Field(ge=2, le=10_000_000)] = 1600
    """Agent steps per training iteration."""
    minibatch_size: Annotated[Int, Field(ge=2, le=10_000_000)] = 200
    """Agent steps per SGD minibatch, >= 2."""
    num_epochs: Annotated[Int, Field(ge=1, le=1000)] = 10
    """Passes over each training batch."""
    entropy_coeff: Annotated[Float, Field(ge=0.0)] = 0.0
    """Weight of the entropy bonus, >= 0."""
    vf_loss_coeff: Annotated[Float, Field(ge=0.0)] = 1.0
    """Weight of the value loss, >= 0."""
    clip_param: Annotated[Float, Field(gt=0.0)] = 0.3
    """PPO's clipping range epsilon, > 0."""
    vf_clip_param: Annotated[float, Field(gt=0.0, strict=True), BeforeValidator(no_bool)] = float("inf")
    """Clip of the value loss, > 0 (.inf: none)."""
    use_kl_loss: StrictBool = True
    """Add the adaptive KL penalty."""
    kl_coeff: Annotated[Float, Field(ge=0.0)] = 0.2
    """Initial KL penalty coefficient."""
    kl_target: Annotated[Float, Field(gt=0.0)] = 0.01
    """KL divergence the penalty aims at."""
    grad_clip: Annotated[Float, Field(gt=0.0)] | None = None
    """Gradient clipping (null: none)."""
    use_gae: StrictBool = True
    """Generalised advantage estimation (else plain returns)."""
    use_critic: StrictBool = True
    """A value-function baseline."""
    shuffle_batch_per_epoch: StrictBool = True
    """Shuffle the batch before each epoch."""
    policy_kwargs: RLlibPolicyKwargs | None = None
    """The networks: {net_arch: [64, 64], activation_fn: tanh}."""


class RaySettings(BaseModel):
    """``ray:`` with ``backend: rllib``: where and how wide the run samples."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    address: Annotated[str, Field(min_length=1, strict=True)] | None = None
    """null: a fresh local Ray; 'auto', 'host:port' or 'ray://host:10001': an existing cluster."""
    num_env_runners: Annotated[Int, Field(ge=0, le=10_000)] = 0
    """Sampling processes (0: sample in the driver)."""
    num_envs_per_env_runner: Annotated[Int, Field(ge=1, le=MAX_COPIES)] = 64
    """Copies of the env each sampler steps (on the batched core: in one call, so many are cheap)."""
    num_cpus: Annotated[Int, Field(ge=1, le=100_000)] | None = None
    """CPUs of a local Ray (null: all)."""
