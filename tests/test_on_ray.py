"""A study's cells and a benchmark's pairs as Ray tasks on a two-node cluster give the local numbers, file
for file.

The test starts its own cluster on this machine (a head and a worker node, ``ray start --block``, each in its
own process group) and stops it by those process groups, so no other Ray on the machine is touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

STUDY = """name: tiny
scenarios: [textbook_serial]
axes: {delay: [0, 2], skill: [1.0, 0.6]}
episodes: 8
search_episodes: 8
periods: 30
warmup: 5
seed: 1
"""
BENCHMARK = """name: tiny
scenarios: [textbook_serial, beer_game]
policies: [sterman, pass_through, {policy: echelon_base_stock, levels: optimal, label: best}]
episodes: 20
seed: 3
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """``ray start --block ...`` in its own process group; returns once it says the node is up."""
    ray = Path(sys.executable).with_name("ray")
    out = log.open("w")
    process = subprocess.Popen([str(ray), "start", "--block", "--num-cpus", "1", "--disable-usage-stats",
                                "--node-ip-address", "127.0.0.1", *args], stdout=out, stderr=subprocess.STDOUT,
                               env=env, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if "Ray runtime started" in log.read_text(errors="replace"):
            return process
        if process.poll() is not None:
            break
        time.sleep(0.5)
    _stop(process)
    pytest.fail(f"a Ray node did not start: {log.read_text(errors='replace')[-2000:]}")


def _stop(process: subprocess.Popen) -> None:
    """Stop a node by its process group (its raylet, object store and workers with it), and wait until
    every process of the group has gone: 5 s of grace after SIGTERM (a worker node's processes took the
    whole of a 30 s grace here, a third of the module's time), then SIGKILL."""
    for sig, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 30)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            process.poll()
            try:
                os.killpg(process.pid, 0)  # anyone left in the group?
            except ProcessLookupError:
                return
            time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A head and a worker node on this machine for the module's tests; stopped by process group after."""
    tmp_path = tmp_path_factory.mktemp("cluster")
    pytest.importorskip("ray")
    if shutil.which("ray", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("the ray command is not installed beside this Python")
    short = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # (Ray's socket paths must stay under 107 bytes)
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": short}
    port = _free_port()
    head = _node(["--head", "--port", str(port), "--include-dashboard=false"], env, tmp_path / "head.log")
    worker = None
    try:
        worker = _node(["--address", f"127.0.0.1:{port}"], env, tmp_path / "worker.log")
        yield f"127.0.0.1:{port}", env
    finally:
        for process in (worker, head):
            if process is not None:
                _stop(process)
        shutil.rmtree(short, ignore_errors=True)


def test_a_study_on_a_two_node_cluster_gives_the_local_numbers(cluster, tmp_path):
    address, env = cluster
    (tmp_path / "tiny.yaml").write_text(STUDY)
    echelon = [sys.executable, "-m", "echelon", "study", "tiny.yaml"]
    here = subprocess.run([*echelon, "--out", "here"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert here.returncode == 0, here.stderr[-2000:]
    on_ray = subprocess.run([*echelon, "--out", "on_ray", "--ray", address], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert on_ray.returncode == 0, on_ray.stderr[-2000:]
    for name in ("results.csv", "results.json"):
        assert (tmp_path / "here" / name).read_bytes() == (tmp_path / "on_ray" / name).read_bytes(), name
    probe = subprocess.run([sys.executable, "-c", f"import ray; ray.init(address='{address}', log_to_driver=False); "
                            "print(sum(n['Alive'] for n in ray.nodes()))"], env=env, capture_output=True, text=True,
                           timeout=120)
    assert probe.stdout.strip().endswith("2"), probe.stderr[-2000:]  # both nodes were there to take tasks


def test_a_benchmark_on_a_two_node_cluster_gives_the_local_numbers(cluster, tmp_path):
    address, env = cluster
    (tmp_path / "b.yaml").write_text(BENCHMARK)
    echelon = [sys.executable, "-m", "echelon", "benchmark", "b.yaml"]
    for out, extra in (("here", []), ("on_ray", ["--ray", address])):
        done = subprocess.run([*echelon, "--out", out, *extra], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
    for name in ("results.csv", "results.json"):
        assert (tmp_path / "here" / name).read_bytes() == (tmp_path / "on_ray" / name).read_bytes(), name


def test_a_wrong_cluster_address_is_one_line(tmp_path):
    (tmp_path / "tiny.yaml").write_text(STUDY)
    done = subprocess.run([sys.executable, "-m", "echelon", "study", "tiny.yaml", "--ray", "nowhere"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "--ray: nowhere is not a Ray address" in done.stderr
