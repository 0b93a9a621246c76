"""The RLlib backend of ``echelon train`` (``backend: rllib``): PPO on one machine or on a Ray cluster.

RLlib trains on Echelon's PettingZoo env in the learner view (``view="learner"``: the features
Echelon's own trainer gives its models, scaled, with the site's one-hot and the time left), with
one action space for every site (per-site bounds enforced inside), rewards divided by the
scenario's cost scale (``reward_scale="auto"``) and actions clipped into the space. Where the actions
are discrete (:func:`core_sampler`), its env runners sample that env's transitions on the batched core,
every copy in one call (:mod:`training.rllib_runner`, about eight times RLlib's own sampling); otherwise
RLlib's own runner steps one PettingZoo env per copy. A scenario with advance demand signals is refused
(:func:`check_observable`).

- ``mode: shared``: one RLModule for every site (parameter sharing);
- ``mode: independent``: one RLModule per site, all trained *simultaneously*: every site's
  module learns from the same sampled episodes in every iteration (no rotation).

Timesteps count agent steps (site-periods), as the SB3 backend's shared slots do. The run folder
is the SB3 backend's: ``config.yaml``, ``models/<group>.rlmodule`` (the best modules by held-out
cost, loaded by :class:`~agents.learned.LearnedPolicy` without Ray), ``checkpoints/`` (the whole
algorithm, for ``--resume``), ``tb/`` (``inventory/`` and RLlib's scalars), ``eval.csv`` and
``learning_curve.png``; ``echelon evaluate RUN`` benchmarks it beside the heuristics.

Where it runs (``ray:`` in the config): by default a local Ray started for the run and stopped
after it; ``address: auto`` (or ``ray://head:10001``, or ``RAY_ADDRESS`` in the environment)
joins an existing cluster, whose nodes need Echelon installed (``pip install 'echelon[rllib]'``)
and then sample with ``num_env_runners`` processes of ``num_envs_per_env_runner`` envs each.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gymnasium import spaces

from echelon.agents.learned import GroupPolicy
from echelon.agents.learner_view import LearnedGroup, LearnerView
from echelon.agents.policy_export import from_rllib
from echelon.agents.rllib_model import RLLIB_HINT, RLlibModel, quiet_ray
from echelon.envs.errors import ConfigError, EchelonError
from echelon.envs.files import write_atomic
from echelon.envs.parallel import parallel_env
from echelon.envs.validation import check_address, shown
from echelon.training.config import TrainConfig
from echelon.training.hyperparams import RaySettings, RLlibPolicyKwargs
from echelon.training.rllib_config import ACTIVATION_NAMES, DEFAULTS
from echelon.training.rllib_runner import CoreEnvRunner
from echelon.training.run_folder import RunBook

ENV_NAME = "echelon_rllib"


def _ppo_config_class() -> type:
    try:
        from ray.rllib.algorithms.ppo import PPOConfig
    except ImportError:
        raise ConfigError(RLLIB_HINT) from None
    return PPOConfig


def model_config(config: TrainConfig) -> dict[str, Any]:
    """``DefaultModelConfig`` arguments from ``policy_kwargs: {net_arch, activation_fn}`` (SB3's names)."""
    kwargs = RLlibPolicyKwargs(**(config.hyperparams.get("policy_kwargs") or {}))
    return {"fcnet_hiddens": list(kwargs.net_arch), "fcnet_activation": ACTIVATION_NAMES[kwargs.activation_fn],
            "vf_share_layers": False}


def env_config(config: TrainConfig, scenario: Any) -> dict[str, Any]:
    """The PettingZoo env's arguments: the learner view, one space per agent, scaled rewards, clipping."""
    return {"scenario": scenario, "action": config.action, "observation": config.observation, "view": "learner",
            "reward": config.reward, "reward_scale": "auto", "max_order": config.max_order,
            "max_adjust": config.max_adjust, "clip_actions": True}


def make_rllib_env(env_config: Mapping[str, Any]) -> Any:
    """RLlib's env creator: Echelon's parallel env in RLlib's ``ParallelPettingZooEnv`` wrapper."""
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv

    return ParallelPettingZooEnv(parallel_env(**dict(env_config)))


def _module_of(layout: list[dict[str, Any]]) -> Callable[..., str]:
    if len(layout) == 1:
        shared = layout[0]["name"]
        return lambda agent_id, *args, **kwargs: shared
    of_site = {site: g["name"] for g in layout for site in g["sites"]}  # independent: one module per site
    return lambda agent_id, *args, **kwargs: of_site[agent_id]


def algorithm_config(config: TrainConfig, scenario: Any, layout: list[dict[str, Any]]) -> Any:
    """The ``PPOConfig`` of a run: the env, one module per group, the samplers and the hyperparameters."""
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from ray.tune.registry import register_env

    register_env(ENV_NAME, make_rllib_env)
    names = [g["name"] for g in layout]
    hyper = DEFAULTS | {k: v for k, v in config.hyperparams.items() if k != "policy_kwargs"}
    ray = RaySettings(**config.ray)
    return (
        _ppo_config_class()()
        .environment(ENV_NAME, env_config=env_config(config, scenario))
        .multi_agent(policies=names, policy_mapping_fn=_module_of(layout))
        .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={n: RLModuleSpec() for n in names}),
                   model_config=DefaultModelConfig(**model_config(config)))
        .env_runners(num_env_runners=ray.num_env_runners, num_envs_per_env_runner=ray.num_envs_per_env_runner,
                     **({"env_runner_cls": CoreEnvRunner} if core_sampler(config, scenario) else {}))
        .training(**hyper)
        .debugging(seed=config.seed, log_level="ERROR")
    )


def core_sampler(config: TrainConfig, scenario: Any) -> bool:
    """Whether the run samples on the batched core (:mod:`training.rllib_runner`): where the action space is
    discrete (a continuous one goes through RLlib's own runner, which rescales its actions)."""
    view = LearnerView(scenario, scenario.site_names, config.action, config.observation, max_order=config.max_order,
                       max_adjust=config.max_adjust)
    return isinstance(view.action_space, spaces.Discrete)


def check_observable(config: TrainConfig, scenario: Any) -> None:
    """Refuse a scenario whose sites get advance demand signals: the PettingZoo env adds them to the learner
    view, but a learned policy plays on :class:`~agents.learner_view.LearnerView`, which has no place for
    them (the modules would be built for one more feature than evaluation gives them)."""
    if scenario.information.notice:
        notice = scenario.information.notice
        raise ConfigError(f"training config {config.name!r}: backend rllib cannot train on {scenario.name!r}: its "
                          f"sites get advance demand signals ({notice} period{'s' * (notice != 1)} of notice), "
                          "which learned policies do not observe yet; use backend sb3 (its learners see the "
                          "scenario without the signals) or a scenario without advance notice")


class RLlibTrainer(RunBook):
    """Trains a config's groups with RLlib's PPO and keeps the run folder (module docstring)."""

    tensorboard_folder = "rllib"

    def __init__(self, config: TrainConfig, out: Path, resume: bool = False,
                 progress: Callable[[int, int], None] | None = None, trust_pickles: bool = False):
        import ray

        super().__init__(config, out, resume, progress, trust_pickles)
        check_observable(config, self.scenario)
        quiet_ray()
        self._own_ray = not ray.is_initialized()  # then close() disconnects (and stops a local Ray)
        if self._own_ray:
            _join_ray(config)
        try:
            _check_cpus(config)
            self.algo = _built(config, self.scenario, self.layout)
        except BaseException:
            if self._own_ray:
                ray.shutdown()
            raise
        self.ray_address = ray.get_runtime_context().gcs_address
        self.timesteps = 0
        if resume:
            self.resume_from(self._restore)
            self.timesteps = self.total_of(self.state)

    def _restore(self, checkpoint: Path) -> None:
        folder = checkpoint / "rllib"
        if not folder.is_dir():
            raise ConfigError(f"{folder}: no RLlib checkpoint")
        self.algo.restore_from_path(str(folder.resolve()))

    @property
    def total(self) -> int:
        """Agent steps (site-periods) trained so far."""
        return self.timesteps

    def policy(self) -> GroupPolicy:
        """The current modules as a policy on the learner view (what evaluation plays)."""
        cfg = self.config
        groups = [LearnedGroup(LearnerView(self.scenario, g["sites"], cfg.action, cfg.observation,
                                           max_order=cfg.max_order, max_adjust=cfg.max_adjust),
                               RLlibModel(self.algo.get_module(g["name"])), None) for g in self.layout]
        return GroupPolicy(self.scenario, groups, None, label=cfg.name)

    def save_models(self, folder: Path) -> None:
        """Each module to ``folder/<group>.rlmodule``, written beside and renamed, so it is whole or absent."""
        for g in self.layout:
            _replace_dir(folder / f"{g['name']}.rlmodule",
                         lambda path, name=g["name"]: self.algo.get_module(name).save_to_path(str(path)))
            write_atomic(folder / f"{g['name']}.policy.npz", from_rllib(self.algo.get_module(g["name"])).to_bytes())

    def checkpoint(self) -> None:
        """Save the modules, the whole algorithm (for ``--resume``) and the run state."""
        def fill(folder: Path) -> None:
            self.save_models(folder)
            self.algo.save_to_path(str((folder / "rllib").resolve()))

        self.write_checkpoint(fill, {"all": self.total})

    def _log(self, result: Mapping[str, Any]) -> None:
        runners = result.get("env_runners", {})
        if "episode_return_mean" in runners:
            self.writer.add_scalar("rllib/episode_return_mean", runners["episode_return_mean"], self.total)
        for name, stats in result.get("learners", {}).items():
            for key in ("policy_loss", "vf_loss", "entropy", "mean_kl_loss"):
                if isinstance(stats, Mapping) and key in stats:
                    self.writer.add_scalar(f"rllib/{name}/{key}", float(stats[key]), self.total)

    def iterate(self) -> None:
        """One RLlib training iteration (a failure inside Ray or RLlib: one line, :class:`RLlibError`)."""
        try:
            result = self.algo.train()
        except (ConfigError, KeyboardInterrupt):
            raise
        except Exception as exc:  # Ray's and RLlib's own exceptions carry remote tracebacks: keep the gist
            raise RLlibError(f"RLlib failed while training {self.config.name!r}: {_gist(exc)}") from None
        self.timesteps += agent_steps(result)
        self._log(result)

    def close(self) -> None:
        """Stop the algorithm's workers; disconnect from Ray if this run connected (a local Ray stops, a
        cluster stays up)."""
        import ray

        super().close()
        self.algo.stop()
        if self._own_ray:
            ray.shutdown()


class RLlibError(EchelonError):
    """Ray or RLlib failed outside Echelon's checks; the message is one line."""


def _gist(exc: BaseException) -> str:
    """An exception from Ray or RLlib as one short line: its first non-empty line, without Ray's prefixes."""
    lines = [line.strip() for line in str(exc).replace("\\n", "\n").splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    text = text.split("To suppress all validation errors")[0].strip()
    return shown(text[:300])


def _join_ray(config: TrainConfig) -> None:
    """Start a local Ray for the run, or join the cluster at ``ray: address`` (or ``RAY_ADDRESS``).

    A cluster's address is probed first (5 s), so a dead address is one line, not Ray's 30 s of retries
    and warnings."""
    import ray

    key, address = "ray: address", config.ray.get("address")
    if address is None and os.environ.get("RAY_ADDRESS"):
        key, address = "RAY_ADDRESS (environment)", os.environ["RAY_ADDRESS"]
        check_address(address, key)
    where = f"training config {config.name!r}: {key}" if key.startswith("ray") else key
    if address and address != "auto":
        _probe(address, where)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ray.init(address=address or "local",  # "local": a new Ray for this run, never a stale one found on disk
                     num_cpus=None if address else config.ray.get("num_cpus"),
                     include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    except Exception as exc:
        hint = ""
        if address and address != "auto" and "RAY_AUTH_MODE" not in os.environ:
            hint = " (a cluster with token authentication also needs RAY_AUTH_MODE=token and its token)"
        raise ConfigError(f"{where}: cannot join Ray at {shown(address or 'local')}: {_gist(exc)}{hint}") from None


HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])  # + empty SETTINGS


def _probe(address: str, where: str, timeout: float = 5.0) -> None:
    """Refuse an address where no gRPC server answers within ``timeout`` seconds.

    Ray's GCS and Ray Client both speak gRPC, i.e. HTTP/2 (RFC 9113): a server answers the client's
    connection preface with a SETTINGS frame (type 4, the fourth byte of its 9-byte header). Ray itself
    would retry a dead or foreign address for half a minute to minutes, printing warnings."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as conn:
            conn.sendall(HTTP2_PREFACE)
            header = b""
            while len(header) < 9:
                chunk = conn.recv(9 - len(header))
                if not chunk:
                    break
                header += chunk
    except OSError as exc:
        raise ConfigError(f"{where}: nothing answers at {shown(address)} ({exc.strerror or exc}): start the "
                          "cluster (ray start --head) or fix the address") from None
    if len(header) < 9 or header[3] != 4:
        raise ConfigError(f"{where}: {shown(address)} answers, but not as Ray (no gRPC server): check the port "
                          "(a head's GCS listens on 6379, its Ray Client on 10001)")


def _check_cpus(config: TrainConfig) -> None:
    """Refuse more sampling processes than Ray has CPUs: Ray would wait for them for ever."""
    import ray

    runners = RaySettings(**config.ray).num_env_runners
    cpus = int(ray.cluster_resources().get("CPU", 0))
    if runners > cpus:
        raise ConfigError(f"training config {config.name!r}: ray: num_env_runners: {runners} sampling processes "
                          f"need {runners} CPUs and this Ray has {cpus}: lower num_env_runners (0 samples in the "
                          "driver) or raise num_cpus")


def _built(config: TrainConfig, scenario: Any, layout: list[dict[str, Any]]) -> Any:
    """The algorithm, built; RLlib's own refusal of the settings is one line naming ``hyperparams``."""
    try:
        return algorithm_config(config, scenario, layout).build_algo()
    except (ConfigError, KeyboardInterrupt):
        raise
    except Exception as exc:
        raise ConfigError(f"training config {config.name!r}: hyperparams: RLlib refused them: {_gist(exc)}") from None


def agent_steps(result: Mapping[str, Any]) -> int:
    """Agent steps sampled in one ``train()`` iteration, all modules together."""
    sampled = result.get("env_runners", {}).get("num_agent_steps_sampled", {})
    if isinstance(sampled, Mapping):
        return int(sum(sampled.values()))
    return int(sampled)


def _replace_dir(target: Path, write: Callable[[Path], None]) -> None:
    """Write a folder beside ``target`` and swap it in, so readers see the old one or the new one, whole."""
    target = target.resolve()  # RLlib's writers take absolute paths only
    target.parent.mkdir(parents=True, exist_ok=True)
    fresh = target.with_name(target.name + ".new")
    old = target.with_name(target.name + ".old")
    for leftover in (fresh, old):
        shutil.rmtree(leftover, ignore_errors=True)
    write(fresh)
    if target.exists():
        target.rename(old)
    fresh.rename(target)
    shutil.rmtree(old, ignore_errors=True)
