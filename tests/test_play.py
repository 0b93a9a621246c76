"""Play mode: a whole game through the real command on a pseudo-terminal, the debrief, save and replay."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time

import pytest

from echelon.envs.errors import ConfigError
from echelon.play import Game, Table, debrief, others_spec

PROMPT = re.compile(rb"order for week \d+ \(0-\d+\): ")


def play_on_a_terminal(args, lines, cwd, timeout=120):
    """Run ``echelon`` on a pseudo-terminal, answering each order prompt with the next line."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "echelon", *args], stdin=slave, stdout=slave, stderr=slave,
                            cwd=cwd, env={**os.environ, "COLUMNS": "120"})
    os.close(slave)
    output, answers, deadline = b"", iter(lines), time.monotonic() + timeout
    prompts = 0
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            while len(PROMPT.findall(output)) > prompts:  # a new "order for week N (0-M): " prompt
                prompts += 1
                os.write(master, (next(answers) + "\n").encode())
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(master)
    return proc.returncode, output.decode(errors="replace").replace("\r\n", "\n")


@pytest.mark.slow
def test_full_game_on_a_terminal_with_invalid_entries(tmp_path):
    save = tmp_path / "game.json"
    # hot-seat: retailer and factory, 4 weeks; invalid entries first, each re-asked
    lines = ["lots", "-2", "9999", "6", "3.5", "8", "8", "4", "12", "8", "8", "8"]
    code, out = play_on_a_terminal(
        ["play", "beer_game", "--role", "retailer,factory", "--periods", "4", "--seed", "5", "--save", str(save)],
        lines, tmp_path)
    assert code == 0, out
    assert "'lots' is not a whole number" in out and "-2 is out of range" in out
    assert "9999 is out of range" in out and "'3.5' is not a whole number" in out
    assert "--- factory, your turn ---" in out and "week 4 of 4" in out
    assert "DEBRIEF - beer_game, 4 weeks, seed 5" in out and "optimal team" in out
    assert "the bullwhip effect" in out and "In your place (retailer)" in out and "In your place (factory)" in out
    data = json.loads(save.read_text())
    assert data["inputs"] == {"retailer": [6, 8, 12, 8], "factory": [8, 4, 8, 8]}
    assert data["roles"] == ["retailer", "factory"] and data["seed"] == 5
    assert save.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    # the replay reproduces the game and its debrief exactly
    replay = subprocess.run([sys.executable, "-m", "echelon", "replay", str(save), "--chart",
                             str(tmp_path / "again.png")], capture_output=True, text=True, cwd=tmp_path)
    assert replay.returncode == 0
    assert out[out.index("DEBRIEF"):out.index("game saved")].strip() in replay.stdout.replace("\r\n", "\n")


def test_same_seed_same_game():
    games = []
    for _ in range(2):
        game = Game("beer_game", 4, 5, ["wholesaler"], others_spec("base_stock"))
        answers = iter(["7", "8", "9", "8", "8"])
        Table(game, lambda text: None).play(lambda prompt, role, typed=answers: next(typed))
        games.append(game)
    assert games[0].orders == games[1].orders and games[0].costs == games[1].costs
    assert "wholesaler" in debrief(games[0])


def test_bad_saved_games(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="malformed JSON"):
        Game.from_file(bad)
    bad.write_text(json.dumps({"version": 1, "scenario": "beer_game", "seed": 0, "periods": 3,
                               "roles": ["retailer"], "others": {"policy": "sterman"},
                               "inputs": {"retailer": [1, 2]}}))
    with pytest.raises(ConfigError, match="has 2 orders for 3 weeks"):
        Game.from_file(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        Game.from_file(tmp_path / "absent.json")


def test_play_against_a_trained_run(tmp_path):
    from echelon.training.config import load_train_config
    from echelon.training.run_folder import start_run
    from echelon.training.train import Trainer

    config = load_train_config({"name": "tiny", "scenario": "beer_game", "copies": 2, "n_timesteps": 300,
                                "eval_freq": 300, "eval_episodes": 2, "checkpoint_freq": 300,
                                "hyperparams": {"n_steps": 36, "batch_size": 72, "n_epochs": 1}}, where="test")
    start_run(config, tmp_path / "run")
    Trainer(config, tmp_path / "run").train(300)
    assert others_spec(str(tmp_path / "run")) == {"policy": "learned", "run": str(tmp_path / "run")}
    game = Game("beer_game", 0, 3, ["retailer"], others_spec(str(tmp_path / "run")))
    answers = iter(["4", "4", "4"])
    Table(game, lambda text: None).play(lambda prompt, role: next(answers))
    assert len(game.orders) == 3 and "learned" in debrief(game)
