"""A real Virtuoso Open Source server on 127.0.0.1 for the tests: configured, started, awaited, stopped.

`virtuoso-t` comes from the Debian package virtuoso-opensource-7-bin (`make system-deps`).
Each server has its own directory: a virtuoso.ini with both ports (SQL and HTTP) on free
127.0.0.1 ports and small buffers, and a database created at the first start. The system
service of the package is never used. Writes go to /sparql-auth (Digest, user dba) only:
the public /sparql stays read-only.
"""

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

from support.oxigraph_server import OxigraphServer, free_port

USER = "dba"
PASSWORD = "dba"  # a new database's dba password; the server listens on 127.0.0.1 only

INI = """\
[Database]
DatabaseFile = {dir}/virtuoso.db
ErrorLogFile = {dir}/virtuoso.log
LockFile = {dir}/virtuoso.lck
TransactionFile = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {dir}/virtuoso-temp.db
TransactionFile = {dir}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
ServerThreads = 10
CheckpointInterval = 0
NumberOfBuffers = 20000
MaxDirtyBuffers = 15000
MaxQueryMem = 200M
DirsAllowed = {dir}
ThreadCleanupInterval = 0

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {dir}
ServerThreads = 6
MaxClientConnections = 10
KeepAliveTimeout = 10

[SPARQL]
ResultSetMaxRows = 100000
MaxQueryExecutionTime = 60
MaxQueryCostEstimationTime = 0
"""


def virtuoso_command() -> str:
    found = shutil.which("virtuoso-t")
    if not found:
        raise RuntimeError("no `virtuoso-t` command: run `make system-deps` "
                           "(it installs the Debian package virtuoso-opensource-7-bin)")
    return found


class VirtuosoServer(OxigraphServer):
    """`virtuoso-t +foreground +configfile DIR/virtuoso.ini`, a context manager (awaited and
    stopped as an Oxigraph server is)."""

    def __init__(self, location):
        self.location = Path(location)
        self.process = None
        self.port = None  # the HTTP port: the inherited `base` reads it
        self.log = self.location / "console.log"

    @property
    def query_url(self) -> str:
        return self.base + "/sparql"

    @property
    def update_url(self) -> str:
        """The authenticated endpoint (Digest, realm SPARQL) that takes SPARQL Update."""
        return self.base + "/sparql-auth"

    def start(self, wait: float = 60.0):
        command = virtuoso_command()
        self.location.mkdir(parents=True, exist_ok=True)
        # A free port can be taken between our probe and the server's bind: try a few.
        for _ in range(3):
            self.port = free_port()
            ini = self.location / "virtuoso.ini"
            ini.write_text(INI.format(dir=self.location, sql_port=free_port(), http_port=self.port))
            with open(self.log, "ab") as log:
                self.process = subprocess.Popen([command, "+foreground", "+configfile", str(ini)],
                                                stdout=log, stderr=subprocess.STDOUT, cwd=self.location)
            if self._await_ready(wait):
                return self
            self.stop()
        raise RuntimeError(f"virtuoso-t did not start; see {self.log}:\n{self.log.read_text(errors='replace')[-2000:]}")

    def writer_environment(self):
        """CODEREF_SPARQL_* for `coderef load`: the dialect and the dba's credentials."""
        return _environment({"CODEREF_SPARQL_DIALECT": "virtuoso", "CODEREF_SPARQL_USER": USER,
                             "CODEREF_SPARQL_PASSWORD": PASSWORD})


def settings(server: VirtuosoServer) -> dict:
    """The settings that serve from the server (read-only, through its public /sparql)."""
    return {"SPARQL_ENDPOINT": server.query_url, "SPARQL_DIALECT": "virtuoso"}


@contextlib.contextmanager
def _environment(values: dict):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
