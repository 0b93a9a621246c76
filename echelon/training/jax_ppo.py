"""``backend: jax, algo: ppo``: PPO with the environment and the learner in one compiled program.

In the style of PureJaxRL (Lu et al. 2022, "Discovered policy optimisation"): each iteration is one jitted
function of the learner's state and a key that plays ``episodes`` whole episodes on the JAX core (every copy
side by side, demand drawn on the device), computes generalised advantage estimates (Schulman et al. 2016)
and takes ``n_epochs`` x ``minibatches`` clipped-surrogate steps (Schulman et al. 2017) with Adam, gradients
by ``jax.grad``. Nothing leaves the device but the iteration's mean cost and the observation statistics.

The actor is the ES network (:class:`agents.es.ESModel`): its output y sets the action ``anchor x (1 + y)``
(:mod:`agents.es`), and exploration is Gaussian in y with a learned standard deviation per output. So the
deterministic policy PPO learns *is* an ES network, kept as ``models/<group>.npz``: ``echelon evaluate``,
benchmarks and the scoreboard play it on the NumPy core with the code that plays ES networks, and the run
folder is the one every trainer writes (:class:`training.es.ESTrainer`'s bookkeeping: held-out evaluation,
best model, checkpoints, exact resume from the run's generator). The critic is a separate tanh MLP on the same
standardised observations. Rewards are the team's cost per period, negated, over the cost per period of the
first iteration (kept in the checkpoint), so values are O(1) on every network.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from echelon.agents.es import Network
from echelon.agents.jax_es import check_device_view, device_orders, mlp, observe, standardisation, to_actions
from echelon.envs import jax_core
from echelon.envs.errors import ConfigError
from echelon.envs.files import write_atomic
from echelon.envs.jax_core import Array, jax, jnp
from echelon.envs.jax_demand import draw_demand, draw_lead_times
from echelon.training.config import TrainConfig
from echelon.training.es import ESTrainer
from echelon.training.hyperparams import JaxPPOParams

LOG_2PI = float(np.log(2 * np.pi))


class DevicePPOTrainer(ESTrainer):
    """PPO on the device (module docstring); the run folder and evaluation are :class:`ESTrainer`'s."""

    tensorboard_folder = "ppo_jax"
    hyperparams = JaxPPOParams

    def __init__(self, config: TrainConfig, out: Path, resume: bool = False,
                 progress: Callable[[int, int], None] | None = None, trust_pickles: bool = False):
        self.learner: dict[str, Any] | None = None  # (set by load_learner on a resumed run)
        super().__init__(config, out, resume, progress, trust_pickles)
        check_device_view(self.view, self.others)
        outputs = self.model.network.sizes[-1]
        self.critic_net = Network([self.view.observer.dim, *self.params.vf_arch, 1])  # output layer starts at 0
        if self.learner is None:
            self.critic = self.critic_net.init(self.rng)
            self.log_std = np.full(outputs, self.params.log_std_init)
            self.moments = np.zeros((2, self.model.network.dim + self.critic_net.dim + outputs))
            self.steps, self.reward_scale = 0, 0.0
        else:
            self.critic, self.log_std, self.moments = (self.learner[k] for k in ("critic", "log_std", "moments"))
            self.steps, self.reward_scale = int(self.learner["steps"]), float(self.learner["reward_scale"])
            if self.critic.shape != (self.critic_net.dim,) or self.log_std.shape != (outputs,):
                raise ConfigError(f"{out}: the checkpoint's PPO learner is of another network")
        self._iteration = _compile(self)

    # ------------------------------------------------------------------ state beside the ES network
    def load_learner(self, checkpoint: Path) -> None:
        path = checkpoint / f"{self.spec['name']}.ppo.npz"
        try:
            with np.load(path, allow_pickle=False) as data:
                self.learner = {k: data[k] for k in ("critic", "log_std", "moments", "steps", "reward_scale")}
        except Exception as exc:  # noqa: BLE001 - missing or damaged learner state
            raise ConfigError(f"{path}: cannot load the PPO learner's state ({exc.__class__.__name__})") from None

    def save_learner(self, folder: Path) -> None:
        """The critic, the exploration's log standard deviations, Adam's moments and the reward scale."""
        buffer = io.BytesIO()
        np.savez(buffer, critic=self.critic, log_std=self.log_std, moments=self.moments, steps=np.array(self.steps),
                 reward_scale=np.array(self.reward_scale))
        write_atomic(folder / f"{self.spec['name']}.ppo.npz", buffer.getvalue())

    # ------------------------------------------------------------------ learning
    def iterate(self) -> None:
        """One PPO iteration on the device: rollout, advantages, clipped updates."""
        p = self.params
        lr = self.lr_at(self.progress_fraction())
        key = jax.random.key(int(self.rng.integers(2**63)))
        mean, inv_std = standardisation(self.model)
        if self.reward_scale == 0.0:  # the first iteration's cost per period fixes the reward scale
            self.reward_scale = max(float(self._iteration.cost(self.model.theta, self.log_std, mean, inv_std, key)),
                                    1e-9)
        out = self._iteration.step(self.model.theta, self.critic, self.log_std, self.moments, self.steps, lr,
                                   self.reward_scale, mean, inv_std, key)
        theta, critic, log_std, moments, cost, obs_sum, obs_sq = (np.asarray(x, dtype=np.float64) for x in out)
        self.model.theta, self.critic, self.log_std, self.moments = theta, critic, log_std, moments
        self.steps += p.n_epochs * p.minibatches
        slot_periods = p.episodes * self.view.slots_per_copy * self.scenario.periods
        self.model.observe_stats(float(slot_periods), obs_sum, obs_sq)
        self.timesteps += slot_periods
        self.writer.add_scalar("ppo_jax/cost", float(cost), self.total)
        self.writer.add_scalar("ppo_jax/learning_rate", lr, self.total)
        self.writer.add_scalar("ppo_jax/sigma", float(np.exp(log_std).mean()), self.total)


class _Iteration:
    """The compiled pieces of one trainer: ``step`` (a whole PPO iteration) and ``cost`` (the mean cost per
    period of the current policy's rollout, for the reward scale)."""

    def __init__(self, step: Any, cost: Any) -> None:
        self.step, self.cost = step, cost


def _compile(trainer: DevicePPOTrainer) -> _Iteration:
    """The trainer's jitted iteration (module docstring)."""
    model, view, p = trainer.model, trainer.view, trainer.params
    params, scenario = view.params, view.scenario
    periods, episodes = scenario.periods, p.episodes
    actor_shapes, critic_shapes = model.network.shapes, trainer.critic_net.shapes
    n_actor, n_critic = model.network.dim, trainer.critic_net.dim
    dtype = jnp.zeros(()).dtype
    start = jax_core.initial_state(params, episodes, dtype)

    def rollout(theta: Array, critic: Array, log_std: Array, mean: Array, inv_std: Array, key: Array,
                scale: Array) -> tuple:
        demand = draw_demand(scenario, params, key, episodes, periods, dtype)
        lead = draw_lead_times(params, jax.random.fold_in(key, 7), episodes, periods)
        noise_key = jax.random.fold_in(key, 13)

        def one(state: jax_core.JaxState, inputs: tuple) -> tuple:
            d, lt, t = inputs
            raw = observe(view, state).astype(dtype)
            x = (raw - mean) * inv_std  # [N, dim], N = episodes x slots
            y = mlp(actor_shapes, theta[None], x[None])[0]  # [N, outputs]
            u = y + jnp.exp(log_std) * jax.random.normal(jax.random.fold_in(noise_key, t), y.shape, dtype)
            act = to_actions(model, u[None])[0]
            nxt, flows = jax_core.step(state, device_orders(view, act.reshape(episodes, -1), state), d, params, lt)
            team = flows.cost.sum(axis=1)  # [episodes]
            reward = jnp.repeat(-team / scale, view.slots_per_copy)
            value = mlp(critic_shapes, critic[None], x[None])[0, :, 0]
            logp = _log_prob(u, y, log_std)
            return nxt, (x, u, logp, value, reward, team.mean(), raw.sum(axis=0), (raw * raw).sum(axis=0))

        _, out = jax.lax.scan(one, start, (demand, lead, jnp.arange(periods)))
        return out

    def cost(theta: Array, log_std: Array, mean: Array, inv_std: Array, key: Array) -> Array:
        critic = jnp.zeros(n_critic, dtype)
        return rollout(theta, critic, log_std, mean, inv_std, key, jnp.asarray(1.0, dtype))[5].mean()

    def step(theta: Array, critic: Array, log_std: Array, moments: Array, count: Array, lr: Array, scale: Array,
             mean: Array, inv_std: Array, key: Array) -> tuple:
        x, u, logp, value, reward, team, obs_sum, obs_sq = rollout(theta, critic, log_std, mean, inv_std, key,
                                                                   scale)
        advantage, target = _gae(reward, value, p.gamma, p.gae_lambda)
        flat = lambda a: a.reshape(-1, *a.shape[2:])  # noqa: E731 - [T, N, ...] -> [T N, ...]
        batch = (flat(x), flat(u), flat(logp), flat(advantage), flat(target))
        weights = jnp.concatenate([theta, critic, log_std])
        size = batch[0].shape[0] // p.minibatches

        def loss(w: Array, mb: tuple) -> Array:
            bx, bu, blogp, badv, btarget = mb
            th, cr, ls = w[:n_actor], w[n_actor:n_actor + n_critic], w[n_actor + n_critic:]
            y = mlp(actor_shapes, th[None], bx[None])[0]
            ratio = jnp.exp(_log_prob(bu, y, ls) - blogp)
            badv = (badv - badv.mean()) / (badv.std() + 1e-8)
            policy = -jnp.minimum(ratio * badv, jnp.clip(ratio, 1 - p.clip_range, 1 + p.clip_range) * badv).mean()
            v = mlp(critic_shapes, cr[None], bx[None])[0, :, 0]
            entropy = (ls + 0.5 * (LOG_2PI + 1.0)).sum()
            return policy + p.vf_coef * ((v - btarget) ** 2).mean() - p.ent_coef * entropy

        def epoch(carry: tuple, k: Array) -> tuple:
            order = jax.random.permutation(k, batch[0].shape[0])

            def minibatch(inner: tuple, i: Array) -> tuple:
                w, m, c = inner
                pick = jax.lax.dynamic_slice_in_dim(order, i * size, size)
                grad = jax.grad(loss)(w, tuple(b[pick] for b in batch))
                norm = jnp.sqrt((grad * grad).sum())
                grad = grad * jnp.minimum(1.0, p.max_grad_norm / (norm + 1e-12))
                c = c + 1
                m = m.at[0].set(0.9 * m[0] + 0.1 * grad).at[1].set(0.999 * m[1] + 0.001 * grad * grad)
                step_size = lr * jnp.sqrt(1 - 0.999**c) / (1 - 0.9**c)
                return (w - step_size * m[0] / (jnp.sqrt(m[1]) + 1e-8), m, c), None

            return jax.lax.scan(minibatch, carry, jnp.arange(p.minibatches))[0], None

        keys = jax.random.split(jax.random.fold_in(key, 17), p.n_epochs)
        (weights, moments, _), _ = jax.lax.scan(epoch, (weights, moments, count), keys)
        return (weights[:n_actor], weights[n_actor:n_actor + n_critic], weights[n_actor + n_critic:], moments,
                team.mean(), obs_sum.sum(axis=0), obs_sq.sum(axis=0))

    return _Iteration(jax.jit(step), jax.jit(cost))


def _log_prob(u: Array, y: Array, log_std: Array) -> Array:
    """log N(u; y, exp(log_std)^2), summed over the outputs: ``[N]``."""
    return (-0.5 * ((u - y) / jnp.exp(log_std)) ** 2 - log_std - 0.5 * LOG_2PI).sum(axis=-1)


def _gae(reward: Array, value: Array, gamma: float, lam: float) -> tuple[Array, Array]:
    """Generalised advantage estimates over whole episodes ``[T, N]`` (the value after the last period is 0:
    the horizon ends), and the value targets (advantage + value)."""
    def back(carry: tuple, step: tuple) -> tuple:
        advantage, next_value = carry
        r, v = step
        advantage = r + gamma * next_value - v + gamma * lam * advantage
        return (advantage, v), advantage

    zero = jnp.zeros_like(value[0])
    _, advantage = jax.lax.scan(back, (zero, zero), (reward, value), reverse=True)
    return advantage, advantage + value
