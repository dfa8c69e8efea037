"""A throwaway PostgreSQL cluster from Debian's binaries, for tests.

``initdb`` + ``pg_ctl`` in a private temporary directory, listening only on a Unix socket
in that directory (no TCP port at all), password authentication (SCRAM) so that URLs carry
a real password. PostgreSQL refuses to run as root, so as root the server runs as the
``postgres`` user that Debian's ``postgresql`` package creates (``runuser``). Everything is
stopped and removed by ``stop()``, also after a failed start.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

SUPERUSER = "postgres"
PASSWORD = "pg-Test-Secret-42"  # test cluster only; never printed by smbsign
PORT = 54329  # names the socket file only: listen_addresses is empty


def find_bindir() -> Path | None:
    """Newest ``/usr/lib/postgresql/<version>/bin`` with initdb, or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name.split(".")[0]),
    )
    return Path(found[-1]).parent if found else None


def skip_reason() -> str | None:
    if find_bindir() is None:
        return "PostgreSQL server binaries not installed (Debian package postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root but no 'postgres' user to run the server"
        if shutil.which("runuser") is None:
            return "running as root but runuser is missing"
    return None


@dataclass
class Cluster:
    root: Path
    bindir: Path
    started: bool = False

    @property
    def sockdir(self) -> Path:
        return self.root / "sock"

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres", password: str = PASSWORD) -> str:
        host = quote(str(self.sockdir), safe="")
        return (
            f"postgresql+psycopg://{SUPERUSER}:{quote(password, safe='')}@/{database}"
            f"?host={host}&port={PORT}"
        )

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        env = {**os.environ, "PGPASSWORD": PASSWORD}
        try:
            return subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=True,
                cwd=self.root,
                env=env,
            )
        except subprocess.CalledProcessError as exc:
            tail = (exc.stderr or exc.stdout or "").strip()[-1500:]
            raise RuntimeError(
                f"{Path(args[0]).name} failed (exit {exc.returncode}): {tail}"
            ) from None

    def start(self) -> None:
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        self.sockdir.mkdir()
        if os.geteuid() == 0:
            pg = pwd.getpwnam("postgres")
            for p in (self.root, self.sockdir, pwfile):
                os.chown(p, pg.pw_uid, pg.pw_gid)
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.datadir),
            "-U",
            SUPERUSER,
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "--encoding=UTF8",
            "--no-sync",
            timeout=120,
        )
        opts = (
            f"-c listen_addresses='' -c unix_socket_directories={self.sockdir} -p {PORT} "
            "-c fsync=off -c max_connections=40"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.datadir),
            "-l",
            str(self.root / "server.log"),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "start",
            timeout=90,
        )
        self.started = True

    def createdb(self, name: str) -> str:
        self._run(
            str(self.bindir / "createdb"),
            "-h",
            str(self.sockdir),
            "-p",
            str(PORT),
            "-U",
            SUPERUSER,
            name,
        )
        return self.url(name)

    def stop(self) -> None:
        try:
            if self.started:
                self._run(
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.datadir),
                    "-m",
                    "fast",
                    "-w",
                    "-t",
                    "60",
                    "stop",
                    timeout=90,
                )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _tempdir_parent() -> str:
    """$TMPDIR if the ``postgres`` user can reach it (as root it runs the server), else /tmp."""
    base = Path(tempfile.gettempdir()).resolve()
    if os.geteuid() != 0:
        return str(base)
    for p in (base, *base.parents):
        if not p.stat().st_mode & 0o001:  # others may not traverse: postgres cannot get in
            return "/tmp"
    return str(base)


def start_cluster() -> Cluster:
    bindir = find_bindir()
    assert bindir is not None
    root = Path(tempfile.mkdtemp(prefix="smbsign-pg-", dir=_tempdir_parent()))
    cluster = Cluster(root=root, bindir=bindir)
    try:
        cluster.start()
    except BaseException:
        log = root / "server.log"
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        cluster.stop()
        if isinstance(detail, str) and detail:
            raise RuntimeError(f"PostgreSQL did not start:\n{detail}") from None
        raise
    return cluster
