"""The RLlib backend of ``echelon train``: configs, the run folder, evaluation, resume and reproducibility."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from echelon.envs.errors import ConfigError
from echelon.training.config import load_train_config
from echelon.training.run_folder import generations, resume_config, start_run

pytest.importorskip("ray.rllib")
pytestmark = pytest.mark.slow

TINY = {
    "name": "tiny_rllib", "scenario": "textbook_serial", "backend": "rllib", "mode": "independent",
    "n_timesteps": 6000, "eval_freq": 3000, "eval_episodes": 10, "checkpoint_freq": 3000,
    "hyperparams": {"train_batch_size_per_learner": 1000, "minibatch_size": 250, "num_epochs": 2,
                    "policy_kwargs": {"net_arch": [16]}},
    "ray": {"num_envs_per_env_runner": 8, "num_cpus": 2},
}


def _train(config: dict, out: Path, timesteps: int | None = None, resume: bool = False):
    from echelon.training.rllib import RLlibTrainer

    cfg = resume_config(out) if resume else load_train_config(config)
    if not resume:
        start_run(cfg, out)
    trainer = RLlibTrainer(cfg, out, resume=resume)
    last = trainer.train(timesteps or cfg.n_timesteps)
    return trainer, last


@pytest.mark.parametrize(("change", "message"), [
    ({"mode": "central"}, "backend rllib trains mode shared or independent"),
    ({"algo": "a2c"}, "backend rllib trains algo ppo"),
    ({"normalize": True}, "does not normalise"),
    ({"ray": {"adress": "auto"}}, "ray: unknown key 'adress'"),
    ({"ray": {"num_env_runners": -1}}, "ray: num_env_runners: must be >= 0"),
    ({"ray": {"address": 7}}, "ray: address: must be a string"),
    ({"hyperparams": {"n_steps": 100}}, "hyperparams: unknown key 'n_steps'"),
    ({"hyperparams": {"policy_kwargs": {"net_arch": "big"}}}, "net_arch: must be a list"),
    ({"backend": "tpu"}, "backend: must be 'sb3', 'jax' or 'rllib'"),
    ({"hyperparams": {"train_batch_size_per_learner": 1000, "minibatch_size": 2000}},
     r"minibatch_size \(2000\) must be at most train_batch_size_per_learner \(1000\)"),
    ({"ray": {"address": "ray://"}}, "is not a Ray address"),
    ({"ray": {"address": "head:0"}}, "is not a Ray address"),
    ({"ray": {"address": "user@head:6379"}}, "is not a Ray address"),
])
def test_bad_rllib_configs_say_what_and_where(change, message):
    with pytest.raises(ConfigError, match=message):
        load_train_config(TINY | change, where="tiny.yaml")


def test_ray_settings_belong_to_the_rllib_backend():
    sb3 = {k: v for k, v in TINY.items() if k not in ("backend", "hyperparams")}
    with pytest.raises(ConfigError, match="'ray' applies to backend rllib only"):
        load_train_config(sb3, where="tiny.yaml")


def test_independent_modules_train_together_and_the_run_folder_is_a_policy(tmp_path, monkeypatch):
    from echelon.agents.learned import LearnedPolicy
    from echelon.envs.scenario import load_scenario
    from echelon.evaluation.rollout import rollout

    monkeypatch.chdir(tmp_path)
    out = Path("run")  # relative, as on the command line
    trainer, last = _train(TINY, out)
    sites = ["retailer", "wholesaler", "factory"]
    assert trainer.total == 6000  # agent steps: 2 iterations x 1000 periods x 3 sites
    assert [row["timesteps"] for row in trainer.state.history] == [3000, 6000]
    newest = generations(out)[0]
    for site in sites:  # one module per site, written whole
        assert (out / "models" / f"{site}.rlmodule").is_dir()
        assert (newest / f"{site}.rlmodule").is_dir()
    assert (newest / "rllib").is_dir() and (newest / "state.json").is_file()
    assert (out / "eval.csv").is_file() and (out / "learning_curve.png").is_file()
    assert any((out / "tb").rglob("events.out.tfevents.*"))
    assert not list(out.rglob("*.new")) and not list(out.rglob("*.old"))
    resolved = yaml.safe_load((out / "config.yaml").read_text())
    assert [g["model"] for g in resolved["groups"]] == [f"models/{s}.rlmodule" for s in sites]

    scen = load_scenario("textbook_serial")
    policy = LearnedPolicy(scen, run=str(out))  # no Ray needed to play it
    cost = rollout(policy, scen, 10, seed=3).episode_cost.sum(axis=1).mean()
    assert np.isfinite(cost) and cost > 0
    assert cost == pytest.approx(min(row["cost"] for row in trainer.state.history), rel=0.25)


def test_resume_continues_the_count_and_the_curve(tmp_path):
    out = tmp_path / "run"
    _train(TINY, out)
    resumed, _ = _train(TINY, out, timesteps=9000, resume=True)
    assert resumed.total == 9000
    assert [row["timesteps"] for row in resumed.state.history] == [3000, 6000, 9000]


def test_shared_mode_trains_one_module_and_echelon_evaluate_takes_it(tmp_path):
    from echelon.cli import main

    out = tmp_path / "run"
    _train(TINY | {"mode": "shared", "n_timesteps": 3000}, out)
    assert sorted(p.name for p in (out / "models").iterdir()) == ["shared.policy.npz", "shared.rlmodule"]
    assert main(["evaluate", str(out), "--episodes", "10", "--out", str(tmp_path / "eval")]) == 0
    report = (tmp_path / "eval" / "report.md").read_text()
    assert "learned" in report and "best echelon" in report


def test_the_command_line_repeats_a_run_exactly(tmp_path):
    """RLlib iterates sets of ids; ``echelon train`` fixes the hash seed so a seed gives one result."""
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY | {"n_timesteps": 3000}))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
    curves = []
    for i in range(2):
        run = tmp_path / f"run{i}"
        done = subprocess.run([sys.executable, "-m", "echelon", "train", str(config), "--out", str(run)],
                              capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stderr
        curves.append((run / "eval.csv").read_text())
    assert curves[0] == curves[1]


def test_a_run_joins_an_existing_ray_cluster_by_address(tmp_path):
    """``ray: {address: ...}`` trains on a cluster started beforehand (here a one-node cluster), and leaves it up.

    The cluster uses Ray's token authentication; a driver joining by address finds the token in
    ``~/.ray/auth_token`` once ``RAY_AUTH_MODE=token`` says to use it (read when Ray is imported,
    hence the fresh process).
    """
    import shutil

    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"} | {"RAY_AUTH_MODE": "token"}
    ray_cli = shutil.which("ray") or str(Path(sys.executable).parent / "ray")
    port = "6391"
    # --block keeps the cluster in one process tree that this test stops, and only it ("ray stop" would
    # stop every Ray on the machine, a user's training run included)
    head = subprocess.Popen([ray_cli, "start", "--head", "--block", f"--port={port}", "--num-cpus=2",
                             "--include-dashboard=false", "--disable-usage-stats"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    status = [ray_cli, "status", f"--address=127.0.0.1:{port}"]
    for _ in range(120):
        if subprocess.run(status, capture_output=True, timeout=60, env=env).returncode == 0:
            break
        assert head.poll() is None, "ray start --head exited"
        time.sleep(1)
    try:
        config = tmp_path / "tiny.yaml"
        config.write_text(yaml.safe_dump(TINY | {"n_timesteps": 3000, "ray": {"address": f"127.0.0.1:{port}"}}))
        done = subprocess.run([sys.executable, "-m", "echelon", "train", str(config), "--out", str(tmp_path / "run")],
                              capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stderr
        assert f":{port}" in done.stdout  # it says which Ray it ran on
        assert (tmp_path / "run" / "models" / "retailer.rlmodule").is_dir()
        assert subprocess.run(status, capture_output=True, timeout=120, env=env).returncode == 0  # still up
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
        current = Path("/tmp/ray/ray_current_cluster")  # where Ray's address=None would look for it later
        if current.is_file() and current.read_text().strip().endswith(f":{port}"):
            current.unlink()


def _one_line_failure(tmp_path: Path, change: dict, env: dict[str, str] | None = None,
                      monkeypatch: pytest.MonkeyPatch | None = None) -> str:
    """``echelon train`` on TINY changed: exit 2, one line, no run folder; the line."""
    import contextlib
    import io

    from echelon.cli import main

    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY | change))
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["train", str(config), "--out", str(tmp_path / "run")])
    lines = err.getvalue().strip().splitlines()
    assert code == 2 and len(lines) == 1, err.getvalue()
    assert not (tmp_path / "run").exists()
    return lines[0]


def test_a_dead_or_foreign_ray_address_is_one_line_within_seconds(tmp_path, monkeypatch):
    """Nothing listening, or a server that is not Ray (an HTTP server): one line naming the key, not
    Ray's half minute of retries and warnings."""
    import http.server
    import socket
    import threading

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    start = time.monotonic()
    line = _one_line_failure(tmp_path, {"ray": {"address": f"127.0.0.1:{dead}"}})
    assert f"ray: address: nothing answers at 127.0.0.1:{dead}" in line
    line = _one_line_failure(tmp_path, {"ray": {}}, {"RAY_ADDRESS": f"ray://127.0.0.1:{dead}"}, monkeypatch)
    assert line.startswith("echelon: error: RAY_ADDRESS (environment): nothing answers"), line
    class Quiet(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):  # the server's own log would share stderr with the CLI's line
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        line = _one_line_failure(tmp_path, {"ray": {"address": f"127.0.0.1:{server.server_port}"}})
    finally:
        server.shutdown()
    assert "answers, but not as Ray" in line
    assert time.monotonic() - start < 30


def test_more_samplers_than_cpus_is_refused_not_a_hang(tmp_path):
    """Ray would wait for ever for CPUs it does not have."""
    line = _one_line_failure(tmp_path, {"ray": {"num_cpus": 1, "num_env_runners": 3}})
    assert "ray: num_env_runners: 3 sampling processes need 3 CPUs and this Ray has 1" in line
    import ray

    assert not ray.is_initialized()  # the run's own Ray was stopped


def test_a_failure_inside_rllib_is_one_line():
    """RLlib's and Ray's exceptions (remote tracebacks, literal \\n, advice on suppressing checks) end as
    one line naming the run."""
    from types import SimpleNamespace

    from echelon.training.rllib import RLlibError, RLlibTrainer, _gist

    text = "`minibatch_size` (5) must be <= x.\\nTo suppress all validation errors, set y"
    assert _gist(ValueError(text)) == "`minibatch_size` (5) must be <= x."
    assert _gist(RuntimeError("\n\n  first\nsecond")) == "first"
    assert _gist(RuntimeError("")) == "RuntimeError"

    def fail():
        raise RuntimeError("ray::MultiAgentEnvRunner.sample() (pid=1)\n  File x\nValueError: bad")

    fake = SimpleNamespace(algo=SimpleNamespace(train=fail), config=SimpleNamespace(name="tiny"))
    with pytest.raises(RLlibError, match=r"^RLlib failed while training 'tiny': ray::MultiAgentEnvRunner") as info:
        RLlibTrainer.iterate(fake)
    assert "\n" not in str(info.value)
