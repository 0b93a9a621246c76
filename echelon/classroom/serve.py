"""``echelon classroom``: check the address and the database, print where to go, serve until Ctrl-C."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

from echelon.classroom.guard import BACKLOG, RESERVE, ConnectionGuard, guarded_protocol, raise_descriptor_limit
from echelon.classroom.limits import JOIN_PER_MINUTE
from echelon.classroom.session import ClassGame
from echelon.envs.errors import ConfigError

LOOPBACK = ("127.0.0.1", "localhost", "::1")
WS_MAX_SIZE = 16384
"""Largest websocket frame uvicorn accepts (bytes); the app refuses messages over 1,024 characters."""


def check_port(host: str, port: int) -> None:
    """One line if the address cannot be listened on (in use, no such address)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise ConfigError(f"--host: cannot listen on '{host}' (no such address)") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            reason = "in use by another program" if exc.errno == 98 else exc.strerror
            raise ConfigError(f"--port: cannot listen on {host}:{port} ({reason})") from None


def check_db(db: str) -> None:
    """The database's folder must exist and be writable; an existing file must be a classroom database."""
    path = Path(db)
    if path.is_dir():
        raise ConfigError(f"--db: {db} is a folder; name a file such as {Path(db) / 'classroom.db'}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"--db: folder {folder} does not exist")


def public_address(host: str) -> str:
    """The address to show: this computer's network address when listening on every interface."""
    if host not in ("0.0.0.0", "::"):
        return host
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 1))  # no packet is sent: picks the outgoing interface
            return str(probe.getsockname()[0])
    except OSError:
        return socket.gethostname()


def check_public_url(url: str) -> str:
    """``--public-url``: an http(s) address with a host and nothing after the path."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"--public-url: '{url}' is not an address such as https://beergame.example.org "
                          "or http://192.168.1.20:8000")
    return url.rstrip("/")


def serve(host: str, port: int, db: str, public_url: str | None = None, join_limit: int = JOIN_PER_MINUTE) -> int:
    """Serve the classroom. The address the class joins at is ``public_url`` (a reverse proxy's), else this
    computer's network address when listening on every interface; listening on loopback, nobody else can
    join and the pages use the teacher's own address. ``join_limit``: join attempts a minute per address and
    new seats a minute per game (0: none)."""
    import uvicorn

    from echelon.classroom.server import create_app

    check_db(db)
    if public_url is not None:
        public_url = check_public_url(public_url)
    check_port(host, port)
    if public_url is None and host not in LOOPBACK:
        public_url = f"http://{public_address(host)}:{port}"
    base = public_url or f"http://{host}:{port}"

    def created(game: ClassGame) -> None:
        print(f"  new game {game.id}: join code {game.code} (players open {base}/?code={game.code})", flush=True)

    began = time.process_time()
    app = create_app(db, on_create=created, public_url=public_url, join_limit=join_limit)
    room = app.state.room
    rebuilt = time.process_time() - began
    print(f"Echelon classroom on {base} (games in {db})")
    print(f"  teacher: {base}/teacher#{room.teacher_token}   (keep this address to yourself)")
    print(f"  players: {base}/   (the join code is on the teacher's page, with a QR code)")
    for game in room.games.values():
        print(f"  resumed game {game.id}: join code {game.code}, {game.status}")
    if room.games:
        print(f"  ({len(room.games)} games rebuilt in {rebuilt:.1f} CPU-s)")
    for reason in room.skipped.values():
        print(f"  {reason}; the teacher's page lists it to delete")
    if host == "127.0.0.1":
        print("  listening on this computer only; --host 0.0.0.0 lets the class's phones join")
    limit = raise_descriptor_limit()
    guard = ConnectionGuard(limit - RESERVE)
    uvicorn.run(app, host=host, port=port, ws_max_size=WS_MAX_SIZE, ws_per_message_deflate=False,
                http=guarded_protocol(guard), backlog=BACKLOG, timeout_keep_alive=5,
                log_level="warning")  # messages are small: compressing them costs more than it saves
    return 0
