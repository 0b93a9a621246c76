"""The classroom server under abuse, in a real process limited to 128 open files: idle and dribbling
sockets are closed or make room, oversized bodies are refused unread, and a team still plays."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request

import pytest

from echelon.classroom.process import ServerProcess, post_json


def _play(port, token, accepted):
    """One player: orders 4 as soon as a week opens, until the game is over; ``accepted`` gets each week."""
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{port}/ws/player?token={token}", open_timeout=10) as ws:
        asked = None
        while True:
            m = json.loads(ws.recv(timeout=30))
            assert m["type"] != "error", m
            if m["type"] == "accepted":
                accepted.append(m["week"])
            elif m["type"] == "view":
                if m["over"]:
                    return
                week = m["view"]["week"]
                if m["status"] == "running" and m["ordered"] is None and asked != week:
                    asked = week
                    ws.send(json.dumps({"type": "order", "week": week, "quantity": 4}))


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status


@pytest.mark.slow
def test_300_idle_sockets_and_oversized_bodies_lock_nobody_out(tmp_path):
    server = ServerProcess(tmp_path / "c.db", max_files=128)
    idle = []
    try:
        for _ in range(300):  # more than the server's descriptors: each new one takes an idle one's place
            s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            idle.append(s)
        for s in idle[-20:]:  # dribbling a request head, a byte at a time (slowloris)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        assert _get(server.url + "/") == 200  # a player's page loads at once
        # a body declared at 64 MB is refused from its header, unread
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        raw.sendall(b"POST /api/join HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 67108864\r\n\r\n" + b"{" * 1000)
        assert b" 400 " in raw.recv(4096).split(b"\r\n")[0] + b" "
        raw.close()
        # a team of four joins and plays three weeks: every order accepted
        game = post_json(server.url + "/api/games", {"teams": 1, "weeks": 3}, server.teacher)
        tokens = [post_json(server.url + "/api/join", {"code": game["code"], "name": f"p{i}", "team": 1,
                                                        "site": site})["token"]
                  for i, site in enumerate(game["sites"])]
        post_json(server.url + f"/api/games/{game['id']}/start", {}, server.teacher)
        accepted: list[int] = []
        threads = [threading.Thread(target=_play, args=(server.port, token, accepted)) for token in tokens]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(accepted) == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2] or sorted(accepted) == [
            1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]
        # the idle sockets were closed by the server (their place taken, or past the head's 10 s)
        time.sleep(11)
        closed = 0
        for s in idle:
            s.settimeout(0.2)
            try:
                closed += s.recv(1) == b""
            except (ConnectionResetError, TimeoutError, OSError):
                closed += 1
        assert closed == len(idle)
    finally:
        for s in idle:
            s.close()
        server.stop()


class _Transport:
    def __init__(self):
        self.closed = False

    def close(self):
        self.closed = True

    def is_closing(self):
        return self.closed


class _Conn:
    def __init__(self, host, waiting=True):
        self.host, self.waiting, self.transport = host, waiting, _Transport()


def test_one_address_holds_at_most_its_share_and_idle_ones_make_room():
    from echelon.classroom.guard import ConnectionGuard

    guard = ConnectionGuard(total=10, per_client=3)
    busy = [_Conn("10.0.0.5", waiting=False) for _ in range(2)]
    idle = _Conn("10.0.0.5")
    assert all(guard.admit(c) for c in [*busy, idle])
    fourth = _Conn("10.0.0.5", waiting=False)
    assert guard.admit(fourth) and idle.transport.closed  # the address's idle one made room
    assert not guard.admit(_Conn("10.0.0.5"))  # three busy: refused
    others = [_Conn(f"10.0.1.{i}", waiting=False) for i in range(7)]
    assert all(guard.admit(c) for c in others)  # 3 + 7 = the total
    assert not guard.admit(_Conn("10.0.2.1"))
    loopback = _Conn("127.0.0.1")
    others[0].transport.close()  # one leaves: swept on the next admit
    assert guard.admit(loopback)
    assert guard.admit(_Conn("127.0.0.1", waiting=False)) and loopback.transport.closed  # total: idle made room
    assert guard.refused == 2 and guard.closed_idle == 2
