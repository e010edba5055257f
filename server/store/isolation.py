"""Query processes: the embedded store's queries run in child processes that can be stopped.

pyoxigraph cannot cancel a running query: a cross product over all triples keeps a core
busy until it ends and can take all the memory of the machine (23 GB seen once). So with
QUERY_ISOLATION on, the embedded store hands every query to a child process that opens the
same data (the persisted build read-only, ~0.02 s, or the same Turtle files for the
in-memory store) and answers through a pipe. When QUERY_TIMEOUT passes the parent kills the
child (SIGKILL: the query really stops and its core is freed), answers QueryTimeout (503)
and starts a fresh child. Each child's address space is capped (QUERY_MEMORY_MB), so a
runaway query dies instead of the machine. A child that a large query left more than
QUERY_PROCESS_GROWTH_MB (resident) above its size once ready is retired after answering and
a fresh one takes its slot: Oxigraph's hash tables and sort buffers go back to the
allocator, not to the system, so at 1M triples one whole-graph question left a child at
~340 MB for good.

Children start with "spawn": a process that has used Oxigraph (RocksDB's thread pool) and
then forks hands the child locks held by threads that do not exist there; it hangs.
A gunicorn sync worker serves one request at a time and so uses one child; a threaded
server may use up to QUERY_PROCESSES, so that one slow query does not queue the others.
"""

import logging
import math
import multiprocessing
import os
import resource
import threading
import time
import weakref
from pathlib import Path

from ..errors import QueryTimeout, StoreUnavailable

log = logging.getLogger(__name__)

# A child parses the 0584T files in ~0.5 s; a generous bound for a slow, shared machine.
STARTUP_TIMEOUT = 60.0
_CONTEXT = multiprocessing.get_context("spawn")


# ------------------------------------------------------------------ the child


def _limit_cpu(seconds: float) -> None:
    """A backstop should the parent die mid-query and never kill us: the kernel ends a
    child that runs well past the limit (SIGXCPU)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + 2 * seconds + 5)
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _open(source):
    import pyoxigraph as ox  # noqa: PLC0415

    from ..rdf.parsing import load_store  # noqa: PLC0415

    kind, where = source
    if kind == "persisted":
        return ox.Store.read_only(where)
    return load_store([Path(p) for p in where])


def _serve(conn, source, memory_mb, nice) -> None:
    """The child's loop: one request in, one answer out, until the pipe closes."""
    if memory_mb:
        limit = int(memory_mb) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from .oxigraph import OxigraphStore  # noqa: PLC0415

    try:
        store = OxigraphStore(_open(source))
    except Exception as err:  # noqa: BLE001 (reported to the parent, which raises it)
        conn.send(("error", StoreUnavailable(f"the query process could not open the store: {err}")))
        return
    if nice:  # after the start-up, which a query is waiting for; before any query
        os.nice(int(nice))
    conn.send(("ready", os.getpid()))
    while True:
        try:
            method, query, bindings, cap, dataset, seconds = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone or dropped us
        _limit_cpu(seconds)
        try:
            if method == "select":
                value = store.select(query, bindings, cap, dataset)
            elif method == "ask":
                value = store.ask(query, bindings, dataset)
            else:
                value = store.construct(query, bindings, dataset)
            conn.send(("ok", value))
        except MemoryError:
            return  # the parent reports it; nothing of this child is worth keeping
        except Exception as err:  # noqa: BLE001 (re-raised in the parent)
            try:
                conn.send(("error", err))
            except Exception:  # noqa: BLE001 (an exception that does not pickle)
                conn.send(("error", RuntimeError(str(err))))


# ------------------------------------------------------------------ the parent


def _resident_mb(pid: int) -> float:
    """Resident memory of a process (Linux /proc), 0 when it cannot be read."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


class _Child:
    """One query process and the parent's end of its pipe."""

    def __init__(self, source, limits):
        self.conn, theirs = _CONTEXT.Pipe()
        # daemon: multiprocessing ends it when this process exits normally.
        self.process = _CONTEXT.Process(target=_serve, args=(theirs, source, *limits),
                                        name="coderef-query", daemon=True)
        self.process.start()
        theirs.close()
        self.pid = self.process.pid
        self.ready = False
        self.ready_mb = 0.0  # resident size once the store is open

    def wait_ready(self) -> None:
        if self.ready:
            return
        if not self.conn.poll(STARTUP_TIMEOUT):
            self.kill()
            raise StoreUnavailable(f"the query process did not start within {STARTUP_TIMEOUT:g} s")
        try:
            status, value = self.conn.recv()
        except (EOFError, OSError):
            self.kill()
            raise StoreUnavailable("the query process died while opening the store") from None
        if status != "ready":
            self.kill()
            raise value
        self.ready = True
        self.ready_mb = _resident_mb(self.pid)

    def alive(self) -> bool:
        return self.process.is_alive() and not self.conn.closed

    def kill(self) -> None:
        """SIGKILL and reap: the query stops now, whatever it is doing."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


class QueryProcesses:
    """Up to `size` query processes over one store; each runs one query at a time."""

    def __init__(self, source, settings: dict):
        """`source`: ("persisted", build directory) or ("files", [Turtle files])."""
        kind, where = source
        self.source = (kind, str(where) if kind == "persisted" else [str(p) for p in where])
        self.timeout = float(settings["QUERY_TIMEOUT"])
        self.memory_mb = int(settings.get("QUERY_MEMORY_MB") or 0)
        self.growth_mb = float(settings.get("QUERY_PROCESS_GROWTH_MB") or 0)
        self.limits = (self.memory_mb, int(settings.get("QUERY_NICE") or 0))
        self.size = max(1, int(settings.get("QUERY_PROCESSES") or 1))
        self._cond = threading.Condition()
        self._idle: list[_Child] = []
        self._count = 0
        self.stopped: list[int] = []  # pids of the children killed mid-query, oldest first
        self.retired: list[int] = []  # pids of the children replaced for their size, oldest first
        # Children die with the store that owns them (a reload replaces it).
        self._finalizer = weakref.finalize(self, _kill_all, self._idle)
        # One child starts now, so the first query does not wait for its start-up.
        self._count = 1
        self._idle.append(_Child(self.source, self.limits))

    # -- the pool

    def _acquire(self) -> _Child:
        deadline = time.monotonic() + self.timeout
        with self._cond:
            while not self._idle and self._count >= self.size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise QueryTimeout(f"every query process stayed busy for {self.timeout:g} s; try again")
                self._cond.wait(remaining)
            if self._idle:
                child = self._idle.pop()
                if child.alive():
                    return child
                child.kill()  # died while idle (killed from outside): its slot gets a fresh one
            else:
                self._count += 1
        try:
            return _Child(self.source, self.limits)
        except BaseException:
            self._release(None)
            raise

    def _release(self, child: "_Child | None") -> None:
        """Back to the idle list, or (a dead or missing child) the slot is freed."""
        with self._cond:
            if child is not None and child.alive():
                self._idle.append(child)
            else:
                self._count -= 1
            self._cond.notify()

    def _replace(self, old: _Child, retired: bool = False) -> None:
        """A fresh child in the old one's slot; it loads while no one waits for it. The old
        one is killed: stopped mid-query, or (retired) idle after answering but grown too big,
        where nothing is lost and the system has its memory back at once."""
        old.kill()
        if retired:
            self.retired = [*self.retired[-99:], old.pid]
        else:
            self.stopped = [*self.stopped[-99:], old.pid]
        try:
            fresh = _Child(self.source, self.limits)
        except BaseException:
            self._release(None)
            raise
        self._release(fresh)

    # -- queries

    def run(self, method: str, query: str, bindings=None, cap: int | None = None, dataset=None):
        """What OxigraphStore.<method> would return, computed in a child."""
        child = self._acquire()
        try:
            child.wait_ready()
        except BaseException:
            self._release(None)
            raise
        try:
            child.conn.send((method, query, dict(bindings or {}), cap, dataset, self.timeout))
            answered = child.conn.poll(self.timeout)
        except (OSError, EOFError):
            answered = False
        if not answered:
            self._replace(child)
            raise QueryTimeout(f"the query ran past the time limit of {self.timeout:g} s and was stopped")
        try:
            status, value = child.conn.recv()
        except (EOFError, OSError):
            # The child died mid-query: almost always the memory cap (the allocator aborts);
            # also Oxigraph 0.5.13 on an ORDER BY over a column mixing strings and numbers
            # (its comparison is then not a total order and Rust's sort aborts).
            self._replace(child)
            raise QueryTimeout(f"the query was stopped: its process ended before answering, most likely "
                               f"over the {self.memory_mb} MB of memory a query may use (the engine also "
                               "fails on some ORDER BY over values of mixed kinds: strings and numbers)") from None
        if self.growth_mb and _resident_mb(child.pid) - child.ready_mb > self.growth_mb:
            self._replace(child, retired=True)
        else:
            self._release(child)
        if status == "error":
            raise value
        return value

    def close(self) -> None:
        self._finalizer()


def _kill_all(children: list) -> None:
    for child in list(children):
        try:
            child.kill()
        except Exception:  # noqa: BLE001 (at exit; nothing left to report to)
            log.debug("could not stop query process %s", child.pid)
    children.clear()
