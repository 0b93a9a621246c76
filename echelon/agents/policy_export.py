"""A trained policy as data: its layers' weights and a JSON spec in one ``.npz``, played by NumPy alone.

Stable-Baselines3's ``.zip`` and ``VecNormalize`` pickles and Ray's module
checkpoints rebuild Python objects when loaded, so a crafted run folder could
run code on the machine that evaluates it. ``echelon train`` therefore also
writes every model's deterministic policy as ``models/<group>.policy.npz``:
the feed-forward layers that map an observation to the action distribution's
parameters (``linear``, ``tanh``, ``relu``, ``elu``, ``leaky_relu``, in order), the head that turns them
into the action the framework's ``predict(deterministic=True)`` gives, and the
observation normalisation (VecNormalize's running mean and variance, clip and
epsilon). The file is read with ``allow_pickle=False`` and its spec is plain
JSON, so evaluating a run folder executes nothing from it
(:class:`PolicyNet`).

Heads (the mode of each framework's action distribution):

* ``argmax``: a categorical over one discrete action (SB3 PPO/A2C, RLlib, and
  DQN's greedy Q-values);
* ``multi_argmax``: one argmax per sub-action of a multi-discrete action;
* ``clip``: a Gaussian's mean, clipped to the action box (SB3 PPO/A2C);
* ``squash``: tanh of the mean, scaled to the box (SB3 SAC);
* ``scale``: an output already in [-1, 1], scaled to the box (SB3 TD3);
* ``mean``: the first half of a diagonal Gaussian's parameters (RLlib).

Every export checks itself against the framework's own forward pass on random
observations (:func:`check`): an architecture it cannot reproduce exactly is
refused when the run is trained, not when it is evaluated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from echelon.agents.rllib_model import RLlibModel
from echelon.envs.errors import ConfigError

FORMAT = "echelon-policy/1"
HEADS = ("argmax", "multi_argmax", "clip", "squash", "scale", "mean")
ACTIVATIONS = ("tanh", "relu")
MAX_BYTES = 512 * 2**20
"""Largest policy file read (a policy's weights are megabytes; a larger file is not one of ours)."""


def policy_path(model: str | Path) -> Path:
    """The pickle-free policy written beside a model: ``models/x.zip`` -> ``models/x.policy.npz``."""
    model = Path(model)
    return model.with_name(model.name.split(".")[0] + ".policy.npz")


@dataclass(frozen=True)
class PolicyNet:
    """A feed-forward policy with SB3's ``predict`` (module docstring)."""

    layers: tuple[str, ...]  # "linear" (the next weight and bias), "tanh", "relu", "elu:a", "leaky_relu:a"
    weights: tuple[np.ndarray, ...]  # W_0, b_0, W_1, b_1, ... for the linear layers: W [out, in]
    head: str
    observation_shape: tuple[int, ...]
    action: dict[str, Any]  # {"kind": "discrete", "n"} | {"kind": "multi_discrete", "nvec"} | {"kind": "box", ...}
    norm: dict[str, Any] | None = None  # {"mean", "var", "epsilon", "clip"}: VecNormalize's observation statistics
    spaces: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    # ------------------------------------------------------------------ playing
    def outputs(self, obs: np.ndarray) -> np.ndarray:
        """The distribution parameters ``[N, K]`` for observations ``[N, *shape]`` (normalised first)."""
        x = np.asarray(obs, dtype=np.float32).reshape(len(obs), -1)
        if self.norm is not None:
            x = np.clip((x - self.norm["mean"]) / np.sqrt(self.norm["var"] + self.norm["epsilon"]),
                        -self.norm["clip"], self.norm["clip"]).astype(np.float32)
        k = 0
        for layer in self.layers:
            if layer == "linear":
                x = x @ self.weights[k].T + self.weights[k + 1]
                k += 2
            elif layer == "tanh":
                x = np.tanh(x)
            elif layer == "relu":
                x = np.maximum(x, np.float32(0.0))
            else:
                name, value = layer.split(":")
                a = np.float32(value)
                x = np.where(x > 0, x, a * np.expm1(x) if name == "elu" else a * x).astype(np.float32)
        return x

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> tuple[np.ndarray, None]:
        """The deterministic action of every observation, as the framework's ``predict`` gives it."""
        out = self.outputs(obs)
        a = self.action
        if self.head == "argmax":
            return np.argmax(out, axis=1), None
        if self.head == "multi_argmax":
            bounds = np.cumsum(a["nvec"])[:-1]
            return np.stack([np.argmax(part, axis=1) for part in np.split(out, bounds, axis=1)], axis=1), None
        low, high = np.asarray(a["low"], dtype=np.float32), np.asarray(a["high"], dtype=np.float32)
        if self.head == "clip":
            return np.clip(out, low, high), None
        if self.head == "mean":
            return out[:, : out.shape[1] // 2], None
        squashed = np.tanh(out) if self.head == "squash" else out
        return low + 0.5 * (squashed + 1.0) * (high - low), None

    @property
    def observation_space(self) -> Any:
        import gymnasium as gym

        if "observation" not in self.spaces:
            self.spaces["observation"] = gym.spaces.Box(-np.inf, np.inf, self.observation_shape, np.float32)
        return self.spaces["observation"]

    @property
    def action_space(self) -> Any:
        import gymnasium as gym

        if "action" not in self.spaces:
            a = self.action
            if a["kind"] == "discrete":
                space = gym.spaces.Discrete(a["n"])
            elif a["kind"] == "multi_discrete":
                space = gym.spaces.MultiDiscrete(a["nvec"])
            else:
                space = gym.spaces.Box(np.asarray(a["low"], dtype=a["dtype"]),
                                       np.asarray(a["high"], dtype=a["dtype"]), dtype=a["dtype"])
            self.spaces["action"] = space
        return self.spaces["action"]

    # ------------------------------------------------------------------ files
    def to_bytes(self) -> bytes:
        """The policy as ``.npz`` bytes (arrays and a JSON spec; no object arrays)."""
        import io

        spec = {"format": FORMAT, "layers": list(self.layers), "head": self.head,
                "observation_shape": list(self.observation_shape), "action": self.action,
                "norm": None if self.norm is None else {"epsilon": float(self.norm["epsilon"]),
                                                         "clip": float(self.norm["clip"])}}
        arrays = {f"w{i}": w for i, w in enumerate(self.weights)}
        if self.norm is not None:
            arrays["norm_mean"], arrays["norm_var"] = self.norm["mean"], self.norm["var"]
        arrays["spec"] = np.frombuffer(json.dumps(spec).encode(), dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()


def load_policy(path: Path) -> PolicyNet:
    """Read a policy file; one-line errors for a missing, oversized or malformed one. Executes nothing."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: policy file not found")
    if path.stat().st_size > MAX_BYTES:
        raise ConfigError(f"{path}: {path.stat().st_size:,} bytes is more than a policy file holds "
                          f"(at most {MAX_BYTES:,})")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        spec = json.loads(arrays.pop("spec").tobytes().decode())
        return _from_spec(spec, arrays)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to read means a bad file
        raise ConfigError(f"{path}: not an Echelon policy file ({exc.__class__.__name__})") from None


def _parametric(layer: str) -> bool:
    """``elu:<alpha>`` or ``leaky_relu:<slope>`` with a finite number."""
    name, _, value = layer.partition(":")
    try:
        return name in ("elu", "leaky_relu") and np.isfinite(float(value))
    except ValueError:
        return False


def _from_spec(spec: dict[str, Any], arrays: dict[str, np.ndarray]) -> PolicyNet:
    if not isinstance(spec, dict) or spec.get("format") != FORMAT:
        raise ValueError("format")
    layers = tuple(spec["layers"])
    if not all(isinstance(layer, str) and (layer in ("linear", *ACTIVATIONS) or _parametric(layer))
               for layer in layers) or spec["head"] not in HEADS:
        raise ValueError("layers")
    n_linear = layers.count("linear")
    weights = tuple(np.asarray(arrays[f"w{i}"], dtype=np.float32) for i in range(2 * n_linear))
    width = int(np.prod(spec["observation_shape"]))
    for i in range(n_linear):  # the shapes chain: [out, in] then [out]
        w, b = weights[2 * i], weights[2 * i + 1]
        if w.ndim != 2 or b.shape != (w.shape[0],) or w.shape[1] != width:
            raise ValueError("shapes")
        width = w.shape[0]
    norm = None
    if spec["norm"] is not None:
        norm = {"mean": arrays["norm_mean"].astype(np.float32), "var": arrays["norm_var"].astype(np.float32),
                "epsilon": float(spec["norm"]["epsilon"]), "clip": float(spec["norm"]["clip"])}
    return PolicyNet(layers, weights, spec["head"], tuple(spec["observation_shape"]), dict(spec["action"]), norm)


# ---------------------------------------------------------------------- from the frameworks

def _sequence(*modules: Any) -> tuple[list[str], list[np.ndarray]]:
    """The layers of torch modules run one after another (Sequential containers opened in order)."""
    import torch.nn as nn

    layers: list[str] = []
    weights: list[np.ndarray] = []

    def walk(module: Any) -> None:
        if isinstance(module, nn.Sequential):
            for child in module:
                walk(child)
        elif isinstance(module, nn.Linear):
            layers.append("linear")
            weight = module.weight.detach().cpu().numpy().astype(np.float32)
            bias = (module.bias.detach().cpu().numpy().astype(np.float32) if module.bias is not None
                    else np.zeros(module.out_features, dtype=np.float32))
            weights.extend([weight, bias])
        elif isinstance(module, nn.Tanh):
            layers.append("tanh")
        elif isinstance(module, nn.ReLU):
            layers.append("relu")
        elif isinstance(module, nn.ELU):
            layers.append(f"elu:{float(module.alpha)!r}")
        elif isinstance(module, nn.LeakyReLU):
            layers.append(f"leaky_relu:{float(module.negative_slope)!r}")
        elif isinstance(module, nn.Flatten | nn.Identity):
            pass
        else:
            raise ConfigError(f"cannot write a {type(module).__name__} layer to a pickle-free policy file "
                              f"(supported: Linear, Tanh, ReLU, ELU, LeakyReLU)")

    for module in modules:
        walk(module)
    return layers, weights


def _action(space: Any) -> dict[str, Any]:
    import gymnasium as gym

    if isinstance(space, gym.spaces.Discrete):
        return {"kind": "discrete", "n": int(space.n)}
    if isinstance(space, gym.spaces.MultiDiscrete):
        return {"kind": "multi_discrete", "nvec": [int(v) for v in space.nvec]}
    if isinstance(space, gym.spaces.Box):
        return {"kind": "box", "low": space.low.tolist(), "high": space.high.tolist(), "dtype": str(space.dtype)}
    raise ConfigError(f"cannot write a policy acting in {space} to a pickle-free policy file")


def _norm(normalizer: Any | None) -> dict[str, Any] | None:
    if normalizer is None or not getattr(normalizer, "norm_obs", False):
        return None
    rms = normalizer.obs_rms
    return {"mean": np.asarray(rms.mean, dtype=np.float32), "var": np.asarray(rms.var, dtype=np.float32),
            "epsilon": float(normalizer.epsilon), "clip": float(normalizer.clip_obs)}


def from_sb3(model: Any, normalizer: Any | None = None) -> PolicyNet:
    """The deterministic policy of a Stable-Baselines3 model (PPO, A2C, DQN, SAC, TD3) and its VecNormalize."""
    import gymnasium as gym
    from stable_baselines3.common.policies import ActorCriticPolicy
    from stable_baselines3.common.torch_layers import FlattenExtractor

    policy, space = model.policy, model.action_space
    owner = getattr(policy, "q_net", None) or getattr(policy, "actor", None) or policy  # who extracts features
    if not isinstance(getattr(owner, "features_extractor", None), FlattenExtractor):
        raise ConfigError("cannot write a policy with a custom features extractor to a pickle-free policy file")
    name = type(model).__name__
    if isinstance(policy, ActorCriticPolicy):
        layers, weights = _sequence(policy.mlp_extractor.policy_net, policy.action_net)
        head = ("argmax" if isinstance(space, gym.spaces.Discrete) else
                "multi_argmax" if isinstance(space, gym.spaces.MultiDiscrete) else
                "scale" if policy.squash_output else "clip")
        if policy.squash_output:  # (gSDE's squashing: the mean through tanh)
            layers.append("tanh")
    elif name == "DQN":
        layers, weights = _sequence(policy.q_net.q_net)
        head = "argmax"
    elif name == "SAC":
        layers, weights = _sequence(policy.actor.latent_pi, policy.actor.mu)
        head = "squash"
    elif name == "TD3":
        layers, weights = _sequence(policy.actor.mu)
        head = "scale"
    else:
        raise ConfigError(f"cannot write a {name} model to a pickle-free policy file")
    net = PolicyNet(tuple(layers), tuple(weights), head, tuple(model.observation_space.shape), _action(space),
                    _norm(normalizer))
    check(net, lambda obs: model.predict(obs, deterministic=True)[0], normalizer)
    return net


def from_rllib(module: Any) -> PolicyNet:
    """The deterministic policy of an RLlib PPO module (its actor encoder, then its policy head)."""
    from ray.rllib.core.distribution.torch.torch_distribution import TorchCategorical, TorchDiagGaussian

    layers, weights = _sequence(module.encoder.actor_encoder.net.mlp, module.pi.net.mlp)
    dist = module.get_inference_action_dist_cls()
    if isinstance(dist, type) and issubclass(dist, TorchCategorical):
        head = "argmax"
    elif isinstance(dist, type) and issubclass(dist, TorchDiagGaussian):
        head = "mean"
    else:
        head = "multi_argmax"
    net = PolicyNet(tuple(layers), tuple(weights), head, tuple(module.observation_space.shape),
                    _action(module.action_space))

    def framework(obs: np.ndarray) -> np.ndarray:
        return RLlibModel(module).predict(obs)[0]

    check(net, framework)
    return net


def check(net: PolicyNet, framework: Any, normalizer: Any | None = None, samples: int = 512, seed: int = 0) -> None:
    """Raise unless ``net`` acts as the framework does on random observations (discrete actions equal except
    at near-ties of the framework's float32 arithmetic, continuous ones within 1e-4)."""
    rng = np.random.default_rng(seed)
    obs = rng.normal(0.0, 3.0, size=(samples, *net.observation_shape)).astype(np.float32)
    if normalizer is not None and net.norm is not None:  # the framework sees normalised observations
        theirs = np.asarray(framework(normalizer.normalize_obs(obs)))
    else:
        theirs = np.asarray(framework(obs))
    ours = net.predict(obs)[0]
    if net.head in ("argmax", "multi_argmax"):
        same = np.mean(np.asarray(ours).reshape(samples, -1) == theirs.reshape(samples, -1))
        if same < 0.995:
            raise ConfigError(f"the pickle-free policy file disagrees with the model on {1 - same:.1%} of test "
                              f"observations; this architecture cannot be exported")
    elif not np.allclose(ours, theirs.reshape(ours.shape), atol=1e-4, rtol=1e-4):
        raise ConfigError("the pickle-free policy file disagrees with the model; this architecture cannot be exported")
