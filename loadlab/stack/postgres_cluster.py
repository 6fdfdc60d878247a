"""A private PostgreSQL's cluster: its files, its configuration and the folder that holds them.

Its cluster (`data/`) and Unix socket live in one folder that belongs to the caller (e.g. a
TemporaryDirectory). It trades durability for speed (fsync off): a run's scratch database, never
anyone's data.

Who may connect: it listens on no TCP address at all, only on its Unix socket, and the folder
holding that socket is made mode 0700: only the user the server runs as (and root) can enter it,
so only they can connect. Inside, every connection is trusted as superuser `postgres` without a
password, so nothing secret has to be handed to the targets or kept out of logs: the URL names the
socket's folder (`postgresql://postgres@/postgres?host=<folder>&port=<port>`; the port only names
the socket file, `.s.PGSQL.<port>`).

PostgreSQL refuses to run as root. As root, the folder is handed to the `postgres` system user and
initdb and the server run as that user, which must therefore be able to reach the folder: one
under /tmp (e.g. `tempfile.mkdtemp()`) is fine, one inside a folder private to root is not. Root's
targets still connect (root enters any folder); any other user is refused at the folder.
"""

import os
import pwd
import stat
from pathlib import Path
from urllib.parse import quote

import psutil

from loadlab.errors import USAGE, LoadlabError

SERVER_ROOT = Path("/usr/lib/postgresql")  # Debian's layout: <root>/<version>/bin
INSTALL_HINT = "apt-get install postgresql"
PORT = 5432  # names the socket file only: the server listens on no TCP port, and the folder is its own
SUPERUSER = "postgres"  # the cluster's superuser, and the system user the server runs as under root
MAX_CONNECTIONS = 200

_SOCKET_PATH_MAX = 107  # sun_path is 108 bytes, NUL included


def find_server_bin(root: Path = SERVER_ROOT) -> Path:
    """The bin folder of the newest PostgreSQL under `root` that has both initdb and postgres."""
    found = []
    for folder in root.glob("*/bin"):
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            version = folder.parent.name
            key = tuple(int(part) for part in version.split(".")) if version.replace(".", "").isdigit() else ()
            found.append((key, version, folder))
    if not found:
        raise LoadlabError(f"PostgreSQL server binaries not found; install them with: {INSTALL_HINT}", USAGE)
    return max(found)[2]


class Cluster:
    """The cluster's folder (`data/` and the socket), its log, and the commands that create and serve it.

    Nothing runs here: `PrivatePostgres` runs these commands, as `user` (None: as ourselves).
    """

    def __init__(self, directory: Path, port: int = PORT, *, log: Path | None = None) -> None:
        self.bin = find_server_bin()  # fail before anything else of a run is started
        self.directory = Path(directory).resolve()
        self.port = port
        self.data_dir = self.directory / "data"
        self.log_file = Path(log).resolve() if log is not None else self.directory / "postgres.log"
        self.user = SUPERUSER if os.geteuid() == 0 else None  # the system user the processes run as

    @property
    def url(self) -> str:
        """Its Unix socket (the port is given too: libpq's PGPORT must not rename the socket file)."""
        return f"postgresql://{SUPERUSER}@/postgres?host={quote(str(self.directory), safe='/')}&port={self.port}"

    @property
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def initdb_command(self) -> list[str]:
        return [
            str(self.bin / "initdb"),
            f"--pgdata={self.data_dir}",
            f"--username={SUPERUSER}",
            "--auth-local=trust",  # the socket, in a folder only the server's user (and root) may enter
            "--auth-host=reject",  # and were TCP ever switched on, no address would be let in
            "--no-sync",
            "--encoding=UTF8",
            "--no-locale",  # C collation: the same on every machine, whatever locales are installed
        ]

    def server_command(self) -> list[str]:
        return [
            str(self.bin / "postgres"),
            "-D",
            str(self.data_dir),
            "-h",
            "",  # listen_addresses: none, no TCP
            "-p",
            str(self.port),
            "-k",
            str(self.directory),
            "-c",
            "unix_socket_permissions=0700",  # the socket too, besides its folder
            "-c",
            "fsync=off",
            "-c",
            f"max_connections={MAX_CONNECTIONS}",
        ]

    def prepare(self) -> None:
        """Make the folder (closed to other users) and the log's, and hand them to `user` if there is one."""
        socket_path = self.directory / f".s.PGSQL.{self.port}"
        if len(os.fsencode(socket_path)) > _SOCKET_PATH_MAX:
            raise LoadlabError(f"PostgreSQL's socket path is too long ({socket_path}); use a shorter folder")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)  # the socket's folder: no other user may enter it, so none can connect
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            self._hand_over(self.user)

    def _hand_over(self, user: str) -> None:
        """As root: give `directory` to `user`, after checking that user can reach it at all."""
        try:
            pw = pwd.getpwnam(user)
        except KeyError:
            raise LoadlabError(
                f"no {user!r} system user to run PostgreSQL as (it refuses to run as root); "
                f"install the server with: {INSTALL_HINT}"
            ) from None
        groups = set(os.getgrouplist(pw.pw_name, pw.pw_gid))
        for folder in reversed(self.directory.parents):  # / first; permission bits only, ACLs are not read
            st = folder.stat()
            bit = stat.S_IXUSR if st.st_uid == pw.pw_uid else stat.S_IXGRP if st.st_gid in groups else stat.S_IXOTH
            if not st.st_mode & bit:
                raise LoadlabError(
                    f"PostgreSQL runs as the {user!r} user under root, and it cannot enter {folder} "
                    f"(mode {stat.filemode(st.st_mode)}) to reach {self.directory}; use a folder under /tmp"
                )
        for path in (self.directory, *self.directory.rglob("*")):
            os.chown(path, pw.pw_uid, pw.pw_gid, follow_symlinks=False)

    def processes(self) -> list[psutil.Process]:
        """Every live process of this cluster, the postmaster and its children: all run in `data_dir`."""
        data_dir = str(self.data_dir)
        found = []
        for process in psutil.process_iter(["cwd"]):
            if process.info["cwd"] == data_dir:
                found.append(process)
        return found
