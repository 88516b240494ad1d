"""leadloop's production HTTP server: gunicorn, driven from ``leadloop run``.

The master process binds the port and supervises; each worker process builds its own
service (database engine, Slack client, Bolt app, scheduler) after the fork, because
SQLAlchemy connection pools and APScheduler threads must not cross a fork. Each worker is
gunicorn's threaded worker, except that its main loop reads every request whole, within
deadlines and size caps, before a thread serves it (``bot/http_worker.py``): slow clients
hold no thread. On SIGTERM gunicorn stops accepting connections and lets each worker
finish the requests it has; then the worker closes its service, which finishes the work it
accepted.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.glogging import Logger as GunicornLogger
from gunicorn.sock import TCPSocket

from bot.http_worker import STOP_SIGNALS

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

logger = logging.getLogger("leadloop")

# How long SIGTERM waits for requests in flight and accepted work before killing a worker.
GRACEFUL_TIMEOUT_SECONDS = 30
# Seconds an idle client connection stays open; a load balancer reuses it for the next request.
KEEPALIVE_SECONDS = 5
LISTEN_BACKLOG = 1024
# Every `leadloop run` worker, whatever its threads: gthread with requests read up front.
WORKER_CLASS = "bot.http_worker.BufferingThreadWorker"


@dataclass(frozen=True)
class ServeOptions:
    """How many worker processes, and threads in each, serve which address."""

    host: str
    port: int
    workers: int
    threads: int
    graceful_timeout: float = GRACEFUL_TIMEOUT_SECONDS

    @property
    def worker_class(self) -> str:
        """The worker that reads each request before a thread gets it, even with one thread.

        gthread runs with a single thread too; gunicorn's sync worker would read requests
        in its only thread, so one slow client would stop it.
        """
        return WORKER_CLASS


class WorkerService(Protocol):
    """What each worker process builds after the fork."""

    def wsgi_app(self) -> WSGIApplication:
        """The WSGI application this worker serves."""
        ...

    def close(self) -> None:
        """Finish accepted work and release resources; called once, as the worker exits."""
        ...


ServiceFactory = Callable[[], WorkerService]


def bind_listener(host: str, port: int) -> socket.socket:
    """The listening socket, bound in the master before any worker starts.

    Binding here (not in gunicorn) makes a port in use fail at once with an ``OSError``
    the CLI can explain, and lets port 0 pick a free port.
    """
    listener = socket.create_server((host, port), backlog=LISTEN_BACKLOG)
    listener.set_inheritable(True)
    return listener


class LoggingToRoot(GunicornLogger):  # type: ignore[misc]  # gunicorn has no type hints
    """gunicorn's log lines go through the root logger, so they are redacted like ours.

    Access lines are off: Slack's requests are logged by Bolt at debug level already.
    """

    def setup(self, cfg: Any) -> None:
        self.cfg = cfg
        self._access_log_enabled = False
        self.error_log = logging.getLogger("gunicorn")
        for log in (self.error_log, self.access_log):
            log.handlers.clear()
            log.propagate = True
            log.setLevel(logging.NOTSET)


class LeadloopArbiter(Arbiter):  # type: ignore[misc]  # gunicorn has no type hints
    """gunicorn's master, safe against a stop signal that arrives while a worker boots.

    Until a new worker has installed its own handlers it runs the master's, which only
    queue the signal in the worker's copy of the master: a Ctrl-C or SIGTERM in that
    window was lost, and the worker served on while the master waited for it to stop
    (and killed it after the graceful timeout). The master now blocks those signals while
    it forks, so the new worker receives them as soon as it can handle them
    (``BufferingThreadWorker.init_signals``).
    """

    def __init__(self, app: Any, *, on_stopping: Callable[[], None]) -> None:
        super().__init__(app)
        self._on_stopping = on_stopping

    def spawn_worker(self) -> int:
        held = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            return int(super().spawn_worker())
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    def stop(self, graceful: bool = True) -> None:
        """Say that leadloop is stopping, then stop the workers."""
        self._on_stopping()
        super().stop(graceful)


def _nothing() -> None:
    """An ``on_stopping`` that has nothing to tell."""


class GunicornServer(BaseApplication):  # type: ignore[misc]  # gunicorn has no type hints
    """gunicorn configured in code: ``leadloop run`` stays the one command to start."""

    def __init__(
        self,
        build: ServiceFactory,
        options: ServeOptions,
        listener: socket.socket,
        *,
        on_stopping: Callable[[], None] = _nothing,
    ) -> None:
        self._build = build
        self._options = options
        self._listener = listener
        self._on_stopping = on_stopping
        self._address: tuple[str, int] = listener.getsockname()[:2]
        self._service: WorkerService | None = None  # set in each worker, never in the master
        super().__init__(prog="leadloop")

    def load_config(self) -> None:
        """Our settings only: gunicorn reads no config file and no command line here."""
        options = self._options
        settings: dict[str, Any] = {
            "bind": [f"{options.host}:{self.port}"],
            "workers": options.workers,
            "threads": options.threads,
            "worker_class": options.worker_class,
            "graceful_timeout": options.graceful_timeout,
            "backlog": LISTEN_BACKLOG,
            "keepalive": KEEPALIVE_SECONDS,
            "logger_class": LoggingToRoot,
            "control_socket_disable": True,  # one shared path would clash between instances
            "when_ready": self._announce_master,
            "post_worker_init": self._announce_worker,
            "worker_exit": self._close_service,
        }
        for key, value in settings.items():
            self.cfg.set(key, value)

    @property
    def port(self) -> int:
        """The port actually bound (differs from the option when it was 0)."""
        return int(self._address[1])

    def load(self) -> WSGIApplication:
        """Build this worker's service; gunicorn calls it in the worker, after the fork."""
        self._service = self._build()
        return self._service.wsgi_app()

    def serve(self) -> int:
        """Run the master until it is stopped; returns the exit status (0 after SIGTERM)."""
        arbiter = LeadloopArbiter(self, on_stopping=self._on_stopping)
        arbiter.LISTENERS = [
            TCPSocket(self._address, self.cfg, arbiter.log, fd=self._listener.detach())
        ]
        master = os.getpid()
        # Everything built so far (modules, settings) is never scanned by a worker's garbage
        # collector, so those pages stay shared with the master instead of being copied.
        gc.freeze()
        try:
            arbiter.run()
        except SystemExit as exit_:
            if os.getpid() != master:
                raise  # a worker leaving gunicorn's fork: it exits here, never returns
            return exit_.code if isinstance(exit_.code, int) else 0
        return 0

    def _announce_master(self, _arbiter: Any) -> None:
        options = self._options
        logger.info(
            "leadloop is starting %s worker process(es) with %s thread(s) each on http://%s:%s",
            options.workers,
            options.threads,
            options.host,
            self.port,
        )

    def _announce_worker(self, _worker: Any) -> None:
        logger.info(
            "leadloop is listening on http://%s:%s (Slack requests at /slack/events; worker %s)",
            self._options.host,
            self.port,
            os.getpid(),
        )

    def _close_service(self, _arbiter: Any, worker: Any) -> None:
        """gunicorn's worker_exit hook: runs in the worker once its requests are answered."""
        service, self._service = self._service, None
        if service is None or worker.pid != os.getpid():
            return  # the master reaping a worker that never booted
        logger.info("leadloop worker %s is stopping: finishing accepted work", os.getpid())
        service.close()
        logger.info("leadloop worker %s stopped", os.getpid())


def serve(
    build: ServiceFactory,
    options: ServeOptions,
    listener: socket.socket,
    *,
    on_stopping: Callable[[], None] = _nothing,
) -> int:
    """Serve ``listener`` with gunicorn, each worker running what ``build`` makes.

    ``on_stopping`` runs in the master as soon as it starts stopping (SIGTERM, Ctrl-C).
    """
    return GunicornServer(build, options, listener, on_stopping=on_stopping).serve()
