"""A real Oxigraph SPARQL server on 127.0.0.1 for the tests: started, awaited, stopped.

The `oxigraph` command comes from the PyPI package `oxigraph` (the test extra), installed
beside the interpreter running the tests.
"""

import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def oxigraph_command() -> str:
    beside = Path(sys.executable).parent / "oxigraph"
    found = str(beside) if beside.exists() else shutil.which("oxigraph")
    if not found:
        raise RuntimeError("no `oxigraph` command: install the test extra (pip install -e '.[test]')")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OxigraphServer:
    """`oxigraph serve --location DIR --bind 127.0.0.1:PORT`, a context manager."""

    def __init__(self, location, timeout_s: int | None = None):
        self.location = Path(location)
        self.timeout_s = timeout_s
        self.process = None
        self.port = None
        self.log = self.location.parent / f"{self.location.name}.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def query_url(self) -> str:
        return self.base + "/query"

    def start(self, wait: float = 30.0):
        # A free port can be taken between our probe and the server's bind: try a few.
        for _ in range(3):
            self.port = free_port()
            command = [oxigraph_command(), "serve", "--location", str(self.location), "--bind", f"127.0.0.1:{self.port}"]
            if self.timeout_s:
                command += ["--timeout-s", str(self.timeout_s)]
            with open(self.log, "ab") as log:
                self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
            if self._await_ready(wait):
                return self
            self.stop()
        raise RuntimeError(f"oxigraph serve did not start; see {self.log}:\n{self.log.read_text(errors='replace')[-2000:]}")

    def _await_ready(self, wait: float) -> bool:
        deadline = time.monotonic() + wait
        probe = self.query_url + "?query=ASK%7B%7D"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(probe, timeout=2) as response:
                    if response.status == 200:
                        return True
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        return False

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
