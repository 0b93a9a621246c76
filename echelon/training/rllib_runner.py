"""RLlib's sampler on Echelon's batched core: every copy of an env runner stepped in one core call.

RLlib's own :class:`MultiAgentEnvRunner` steps one PettingZoo env per copy and books every agent's step in
Python (episodes, connectors, metrics): on ``textbook_serial`` about 8,500 agent-steps a second at best,
whatever the learner. :class:`CoreEnvRunner` keeps that runner's modules, state, weights and metrics, and
replaces its sampling: the runner's ``num_envs_per_env_runner`` copies are one
:class:`~training.vec_env.InventoryVecEnv` (the batched core in the learner view, the SB3 back end's env),
each module acts on its sites' observations of all copies at once (one forward pass per module and
period), and whole episodes are handed to RLlib as :class:`MultiAgentEpisode` objects built from the
arrays at the end.

What a module sees and does is the PettingZoo env's (``view="learner"``, ``reward_scale="auto"``, the
config's reward mix, actions clipped into the space), so the learner, the saved modules and evaluation
are unchanged (``tests/test_rllib_runner.py`` plays both on the same draws). As RLlib's runner, a call
for ``n`` steps runs ``ceil(n / copies)`` periods of every copy and returns each copy's steps as episode
chunks, the episodes going on in the next call (so ``train_batch_size_per_learner`` is honoured); a call for
episodes runs new whole ones. Episodes are drawn from the runner's own generator, seeded by the config's
seed and the runner's index.
"""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

import numpy as np

from echelon.agents.learner_view import LearnerView
from echelon.envs.rewards import reward_weight
from echelon.training.vec_env import InventoryVecEnv

try:
    from ray.rllib.core.columns import Columns
    from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner
    from ray.rllib.env.multi_agent_episode import MultiAgentEpisode
    from ray.rllib.utils.metrics import (
        NUM_AGENT_STEPS_SAMPLED,
        NUM_AGENT_STEPS_SAMPLED_LIFETIME,
        NUM_ENV_STEPS_SAMPLED,
        NUM_ENV_STEPS_SAMPLED_LIFETIME,
        NUM_EPISODES,
        NUM_EPISODES_LIFETIME,
        NUM_MODULE_STEPS_SAMPLED,
        NUM_MODULE_STEPS_SAMPLED_LIFETIME,
    )
except ImportError:  # (the module is imported only where Ray is: training.rllib checks first)
    MultiAgentEnvRunner = object  # type: ignore[assignment,misc]


class Round:
    """One episode of every copy, under way: the period reached, the last observations, each copy's episode
    id and each site's return so far."""

    def __init__(self, obs: np.ndarray, copies: int, sites: int) -> None:
        self.t, self.obs, self.began = 0, obs, time.time()
        self.ids = [uuid.uuid4().hex for _ in range(copies)]
        self.returns = np.zeros((copies, sites))


class CoreEnvRunner(MultiAgentEnvRunner):  # type: ignore[misc,valid-type]
    """RLlib's multi-agent env runner, sampling on the batched core (module docstring)."""

    def __init__(self, config: Any, **kwargs: Any) -> None:
        super().__init__(config=config, **kwargs)
        env = dict(config.env_config)
        scenario = env["scenario"]
        self.sites = list(scenario.site_names)
        self.view = LearnerView(scenario, self.sites, env["action"], env["observation"], max_order=env["max_order"],
                                max_adjust=env["max_adjust"])
        self.copies = int(config.num_envs_per_env_runner)
        seed = [int(config.seed or 0), int(self.worker_index or 0)]  # one stream per runner
        self.vec = InventoryVecEnv(scenario, self.view, self.copies, reward_weight(env["reward"]),
                                   seed=int(np.random.SeedSequence(seed).generate_state(1)[0]))
        self.periods = self.vec.sim.periods
        self.module_of = {a: config.policy_mapping_fn(a, None) for a in self.sites}
        self.groups = [(m, [i for i, a in enumerate(self.sites) if self.module_of[a] == m])
                       for m in dict.fromkeys(self.module_of.values())]
        """Each module and the columns (sites) it plays."""
        self.choices = int(self.view.action_space.n)
        self._open: Round | None = None
        """The episodes under way (one per copy), continued by the next call."""

    def _sample(self, *, num_timesteps: int | None = None, num_episodes: int | None = None, explore: bool,
                random_actions: bool = False, force_reset: bool = False) -> list[Any]:
        """``num_timesteps`` (at least; ``ceil(n / copies)`` periods of every copy, the open episodes going on
        from where the last call left them, as RLlib's runner does) or ``num_episodes`` whole episodes (new
        ones, at least that many)."""
        if num_episodes is not None or force_reset:
            self._open = None
        if num_episodes is not None:
            chunks: list[Any] = []
            while len(chunks) < num_episodes:
                chunks += self._periods(self.periods, explore, random_actions)
            return chunks
        return self._periods(max(1, math.ceil((num_timesteps or 0) / self.copies)), explore, random_actions)

    def _periods(self, periods: int, explore: bool, random_actions: bool) -> list[Any]:
        """Run ``periods`` periods of every copy; each copy's steps as episode chunks (one per episode
        touched), a new episode started where one ends."""
        chunks: list[Any] = []
        while periods > 0:
            if self._open is None:
                self._open = Round(self.vec._start(), self.copies, len(self.sites))  # (fresh draws)
            k = min(periods, self.periods - self._open.t)
            chunks += self._run(self._open, k, explore, random_actions)
            periods -= k
            if self._open.t == self.periods:
                self._log_ended(self._open)
                self._open = None
        return chunks

    def _act(self, obs: np.ndarray, explore: bool, random_actions: bool, logits: np.ndarray,
             logp: np.ndarray) -> np.ndarray:
        """Every slot's action ``[copies, sites]`` (``obs``: ``[copies * sites, dim]``, copy-major), writing each
        slot's logits ``[copies, sites, choices]`` and log-probability ``[copies, sites]`` in place: one forward
        pass per module over the sites it plays."""
        import torch

        by_site = obs.reshape(self.copies, len(self.sites), -1)
        actions = np.empty((self.copies, len(self.sites)), dtype=np.int64)
        for module_id, cols in self.groups:
            module = self.module[module_id]
            batch = torch.as_tensor(by_site[:, cols].reshape(-1, by_site.shape[-1]))
            with torch.no_grad():
                out = (module.forward_exploration if explore else module.forward_inference)({Columns.OBS: batch})
                dist_inputs = out[Columns.ACTION_DIST_INPUTS]
                dist_cls = (module.get_exploration_action_dist_cls() if explore else
                            module.get_inference_action_dist_cls())
                dist = dist_cls.from_logits(dist_inputs)
                if random_actions:
                    chosen = torch.randint(0, dist_inputs.shape[-1], dist_inputs.shape[:-1])
                else:
                    chosen = dist.sample() if explore else dist.to_deterministic().sample()
                chosen_logp = dist.logp(chosen)
            actions[:, cols] = chosen.numpy().reshape(self.copies, len(cols))
            logits[:, cols] = dist_inputs.numpy().reshape(self.copies, len(cols), -1)
            logp[:, cols] = chosen_logp.numpy().reshape(self.copies, len(cols))
        return actions

    def _run(self, open_: Round, k: int, explore: bool, random_actions: bool) -> list[Any]:
        """``k`` periods of the open round; the copies' chunks built from the arrays at the end."""
        n, copies = len(self.sites), self.copies
        obs = open_.obs
        dim = obs.shape[-1]
        observations = np.empty((k + 1, copies, n, dim), dtype=np.float32)
        actions = np.empty((k, copies, n), dtype=np.int64)
        rewards = np.empty((k, copies, n), dtype=np.float32)
        logits = np.empty((k, copies, n, self.choices), dtype=np.float32)
        logp = np.empty((k, copies, n), dtype=np.float32)
        observations[0] = obs.reshape(copies, n, dim)
        for t in range(k):
            actions[t] = self._act(obs, explore, random_actions, logits[t], logp[t])
            rew, _ = self.vec._advance(actions[t].reshape(-1))
            rewards[t] = rew.reshape(copies, n)
            obs = self.vec._observe()
            observations[t + 1] = obs.reshape(copies, n, dim)
        start, open_.t, open_.obs = open_.t, open_.t + k, obs
        ended = open_.t == self.periods
        open_.returns += rewards.sum(axis=0)
        chunks = [self._chunk(open_.ids[c], start, observations[:, c], actions[:, c], rewards[:, c], logits[:, c],
                              logp[:, c], ended, open_.began)
                  for c in range(copies)]
        self._count(copies * k, copies if ended else 0)
        return chunks

    def _chunk(self, id_: str, start: int, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
               logits: np.ndarray, logp: np.ndarray, ended: bool, began: float) -> Any:
        """One copy's steps ``start`` to ``start + k`` as an episode (chunk): ``obs`` ``[k + 1, sites, dim]``,
        ``actions``, ``rewards`` and ``logp`` ``[k, sites]``, ``logits`` ``[k, sites, choices]``."""
        sites, k = self.sites, len(actions)
        episode = MultiAgentEpisode(
            id_=id_,
            observations=[{s: obs[t, i] for i, s in enumerate(sites)} for t in range(k + 1)],
            actions=[{s: actions[t, i] for i, s in enumerate(sites)} for t in range(k)],
            rewards=[{s: float(rewards[t, i]) for i, s in enumerate(sites)} for t in range(k)],
            infos=[{s: {} for s in sites} for _ in range(k + 1)],
            extra_model_outputs=[{s: {Columns.ACTION_DIST_INPUTS: logits[t, i], Columns.ACTION_LOGP: logp[t, i]}
                                  for i, s in enumerate(sites)} for t in range(k)],
            terminateds=dict.fromkeys(sites, False) | {"__all__": False},
            truncateds=dict.fromkeys(sites, ended) | {"__all__": ended},
            observation_space=self.env.single_observation_space,
            action_space=self.env.single_action_space,
            env_t_started=start,
            agent_t_started=dict.fromkeys(sites, start),
            len_lookback_buffer=0,
            agent_to_module_mapping_fn=self.config.policy_mapping_fn,
        )
        episode._start_time, episode._last_step_time = began, time.time()
        return episode.to_numpy() if self.episodes_to_numpy else episode

    def _log_ended(self, done: Round) -> None:
        """The episode metrics RLlib's runner logs, for each copy's episode that just ended."""
        seconds = time.time() - done.began
        for c in range(self.copies):
            agents = {s: float(done.returns[c, i]) for i, s in enumerate(self.sites)}
            modules: dict[str, float] = {}
            for s, value in agents.items():
                modules[self.module_of[s]] = modules.get(self.module_of[s], 0.0) + value
            self._log_episode_metrics(self.periods, float(sum(agents.values())), seconds, agents, modules,
                                      dict.fromkeys(self.sites, self.periods))

    def _count(self, env_steps: int, episodes: int) -> None:
        """The sampling counters RLlib's runner keeps (what ``train()``'s results report)."""
        log = self.metrics.log_value
        log(NUM_ENV_STEPS_SAMPLED, env_steps, reduce="sum")
        log(NUM_ENV_STEPS_SAMPLED_LIFETIME, env_steps, reduce="lifetime_sum", with_throughput=True)
        log(NUM_EPISODES, episodes, reduce="sum")
        log(NUM_EPISODES_LIFETIME, episodes, reduce="lifetime_sum")
        for s in self.sites:
            log((NUM_AGENT_STEPS_SAMPLED, s), env_steps, reduce="sum")
            log((NUM_AGENT_STEPS_SAMPLED_LIFETIME, s), env_steps, reduce="lifetime_sum")
            log((NUM_MODULE_STEPS_SAMPLED, self.module_of[s]), env_steps, reduce="sum")
            log((NUM_MODULE_STEPS_SAMPLED_LIFETIME, self.module_of[s]), env_steps, reduce="lifetime_sum")
