"""A TCP listener on 127.0.0.1 that counts the connections it is offered: the proof that a
request made the server reach out (SERVICE, FROM, LOAD, a JSON-LD context, ...) or did not."""

import socket
import threading
import time


class Listener:
    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.connections = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/sparql"

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def quiet_for(self, seconds: float = 0.1) -> bool:
        time.sleep(seconds)  # let the accepting thread count what is already queued
        return self.connections == 0

    def close(self):
        self._stop.set()
        self.thread.join(2)
        self.sock.close()
