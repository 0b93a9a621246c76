"""The built wheel works outside the checkout, beside a user's own ``envs/`` and ``agents/`` folders.

Builds the wheel, installs it (no dependencies: they come from the test's own environment) into a
fresh venv, and runs the CLI and Gymnasium's ``"echelon:..."`` form from an empty folder whose own
``envs`` and ``agents`` packages would break any import of top-level names.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the venv's bin folder, an empty work folder with its own envs/ and agents/ packages)."""
    tmp = tmp_path_factory.mktemp("install")
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                 tmp / "dist", ROOT)
    assert built.returncode == 0, built.stderr
    wheel = next((tmp / "dist").glob("echelon-*.whl"))
    venv = tmp / "venv"
    assert _run(sys.executable, "-m", "venv", "--without-pip", venv).returncode == 0
    bin_dir = venv / "bin"
    site = Path(_run(bin_dir / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
                .stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # numpy, torch, ...: ours
    done = _run(sys.executable, "-m", "pip", "--python", bin_dir / "python", "install", "-q", "--no-deps", wheel)
    assert done.returncode == 0, done.stderr
    work = tmp / "work"
    for name in ("envs", "agents"):
        (work / name).mkdir(parents=True)
        (work / name / "__init__.py").write_text(f"raise ImportError('the user\\'s own {name} package')\n")
    return bin_dir, work


def test_the_wheel_installs_everything_under_echelon_with_its_configs(installed: tuple[Path, Path]) -> None:
    wheel = next(iter(installed[0].parent.parent.glob("dist/echelon-*.whl")))
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.startswith("echelon-")}
    assert top == {"echelon"}
    assert "echelon/configs/scenarios/beer_game.yaml" in names
    assert "echelon/configs/benchmarks/heuristics.yaml" in names
    assert "echelon/envs/core.py" in names


def test_scenarios_and_gymnasium_ids_work_from_another_folder(installed: tuple[Path, Path]) -> None:
    bin_dir, work = installed
    listed = _run(bin_dir / "echelon", "scenarios", cwd=work)
    assert listed.returncode == 0, listed.stderr
    assert "beer_game" in listed.stdout and "textbook_serial" in listed.stdout
    code = ("import gymnasium, echelon.envs.core as core; "
            "env = gymnasium.make('echelon:echelon/Central-v0'); obs, info = env.reset(seed=0); "
            "print(core.__file__); print(env.unwrapped.scenario.name, obs.shape)")
    made = _run(bin_dir / "python", "-c", code, cwd=work)
    assert made.returncode == 0, made.stderr
    where, what = made.stdout.strip().splitlines()
    assert "site-packages" in where and str(ROOT) not in where
    assert what.startswith("beer_game")


def test_benchmark_heuristics_runs_from_another_folder(installed: tuple[Path, Path]) -> None:
    bin_dir, work = installed
    done = _run(bin_dir / "echelon", "benchmark", "heuristics", "--episodes", "4", "--out", work / "bench", cwd=work)
    assert done.returncode == 0, done.stderr
    assert (work / "bench" / "report.md").is_file() and (work / "bench" / "results.csv").is_file()
    assert "Traceback" not in done.stderr
