"""``Service``, ``WebService``, ``ProcessWebService``: what an experiment serves, with a state listeners follow.

A service is registered with ``xp.add_service(service)``. It is described on disk by its class and
its :meth:`Service.state_dict` (its constructor arguments), so that ``xpm experiments services
start`` and the monitors can create it again after the plan has ended.
"""

from __future__ import annotations

import atexit
import enum
import logging
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Any, Callable, Mapping, Optional

logger = logging.getLogger("xpm.services")

#: Seconds a web service may take to be ready before its start is an error.
DEFAULT_START_TIMEOUT = 60.0


class ServiceState(enum.Enum):
    """STOPPED -> STARTING -> RUNNING -> STOPPING -> STOPPED; ERROR when a start fails or the service dies."""

    STOPPED = 0
    STARTING = 1
    RUNNING = 2
    STOPPING = 3
    ERROR = 4


class ServiceListener:
    """Told of every change of a service's state (from the thread that changed it)."""

    def service_state_changed(self, service: Service) -> None:
        """``service.state`` has just changed."""


class Service:
    """A service of an experiment: subclasses set ``id`` and return their constructor arguments
    from :meth:`state_dict`, so that the service can be created again from disk."""

    id: str
    #: Where the service can be reached, when it has an address.
    url: Optional[str] = None

    def __init__(self) -> None:
        self._listeners: list[ServiceListener] = []
        self._listeners_lock = threading.Lock()
        self._state = ServiceState.STOPPED
        self._error: Optional[str] = None
        self._experiment: Any = None
        #: The folder of the service's logs (``<run>/services/<id>``), set when it joins a run.
        self.log_directory: Optional[Path] = None

    # ---- identity and records ------------------------------------------------------------------

    def description(self) -> str:
        """A line saying what the service is (monitors show it)."""
        return ""

    def state_dict(self) -> dict[str, Any]:
        """The keyword arguments that create this service again (paths are handled); default: none."""
        return {}

    def full_state_dict(self) -> dict[str, Any]:
        """What the run records of the service: id, description, class and constructor arguments."""
        record: dict[str, Any] = {
            "service_id": self.id,
            "description": self.description(),
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
            "state_dict": self.serialize_state_dict(self.state_dict()),
        }
        subservices = self.subservices()
        if subservices != [self]:
            record["subservices"] = [
                {"service_id": sub.id, "description": sub.description(), "state": sub.state.name, "url": sub.url}
                for sub in subservices
            ]
        return record

    @staticmethod
    def serialize_state_dict(data: Mapping[str, Any]) -> dict[str, Any]:
        """``data`` as JSON values: a path becomes ``{"__path__": "..."}`` (at any depth)."""

        def encode(value: Any) -> Any:
            if isinstance(value, Path):
                return {"__path__": str(value)}
            if isinstance(value, Mapping):
                return {str(key): encode(item) for key, item in value.items()}
            if isinstance(value, (list, tuple)):
                return [encode(item) for item in value]
            return value

        return {str(key): encode(value) for key, value in data.items()}

    @staticmethod
    def from_state_dict(
        service_class: str | type,
        data: Mapping[str, Any],
        path_translator: Optional[Callable[[str], Path]] = None,
    ) -> Service:
        """Create a service of ``service_class`` (a class or ``"module.Name"``) from its recorded arguments."""
        if isinstance(service_class, str):
            import importlib

            module_name, _, name = service_class.rpartition(".")
            if not module_name:
                raise ValueError(f"service class {service_class!r} is not of the form module.Name")
            cls = getattr(importlib.import_module(module_name), name)
        else:
            cls = service_class
        translate = path_translator or Path

        def decode(value: Any) -> Any:
            if isinstance(value, Mapping):
                if "__path__" in value:
                    return translate(value["__path__"])
                return {key: decode(item) for key, item in value.items() if not key.startswith("__")}
            if isinstance(value, list):
                return [decode(item) for item in value]
            return value

        arguments = {key: decode(value) for key, value in data.items() if not key.startswith("__")}
        return cls(**arguments)

    # ---- the run it belongs to -----------------------------------------------------------------

    def set_experiment(self, xp: Any) -> None:
        """Called by ``xp.add_service``: the service's logs go to ``<run>/services/<id>``."""
        from xpm_core.services.records import service_directory

        self._experiment = xp
        self.log_directory = service_directory(xp.run_dir, self.id)

    @property
    def experiment_id(self) -> str:
        return self._experiment.name if self._experiment is not None else ""

    @property
    def run_id(self) -> str:
        return (self._experiment.run_id or "") if self._experiment is not None else ""

    @property
    def stdout(self) -> Optional[Path]:
        return self.log_directory / "logs.out" if self.log_directory is not None else None

    @property
    def stderr(self) -> Optional[Path]:
        return self.log_directory / "logs.err" if self.log_directory is not None else None

    def setup_logging(self) -> tuple[Optional[logging.Handler], Optional[logging.Handler]]:
        """Send the logger ``xpm.service.<id>`` to the service's log files (INFO to stdout, WARNING to stderr)."""
        if self.stdout is None or self.stderr is None or self.log_directory is None:
            return None, None
        self.log_directory.mkdir(parents=True, exist_ok=True)
        service_logger = logging.getLogger(f"xpm.service.{self.id}")
        service_logger.setLevel(logging.INFO)
        handlers: list[logging.Handler] = []
        for path, level in ((self.stdout, logging.INFO), (self.stderr, logging.WARNING)):
            handler = logging.FileHandler(path)
            handler.setLevel(level)
            handler.setFormatter(logging.Formatter("%(asctime)s - %(levelname)s - %(message)s"))
            service_logger.addHandler(handler)
            handlers.append(handler)
        return handlers[0], handlers[1]

    def cleanup_logging(self, *handlers: Optional[logging.Handler]) -> None:
        service_logger = logging.getLogger(f"xpm.service.{self.id}")
        for handler in handlers:
            if handler is not None:
                service_logger.removeHandler(handler)
                handler.close()

    # ---- state and listeners -------------------------------------------------------------------

    @property
    def state(self) -> ServiceState:
        return self._state

    @state.setter
    def state(self, state: ServiceState) -> None:
        self._state = state
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener.service_state_changed(self)
            except Exception:  # a broken listener must not break the service
                logger.exception("service %s: listener %r failed", self.id, listener)

    def add_listener(self, listener: ServiceListener) -> None:
        with self._listeners_lock:
            if listener not in self._listeners:
                self._listeners.append(listener)

    def remove_listener(self, listener: ServiceListener) -> None:
        with self._listeners_lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    @property
    def error(self) -> Optional[str]:
        """Why the service failed (state ERROR), or None."""
        return self._error

    def set_error(self, error: Optional[str]) -> None:
        self._error = error
        if error:
            self.state = ServiceState.ERROR

    # ---- sub-services --------------------------------------------------------------------------

    def subservices(self) -> list[Service]:
        """The services that can be started on their own; a plain service is its only one."""
        return [self]

    def get_subservice(self, service_id: str) -> Service:
        for service in self.subservices():
            if service.id == service_id:
                return service
        raise KeyError(f"service {self.id!r} has no sub-service {service_id!r}")

    # ---- starting and stopping -----------------------------------------------------------------

    def start(self) -> Optional[str]:
        """Start the service and return its URL (None when it has none)."""
        raise TypeError(
            f"{type(self).__qualname__} cannot be started: derive it from WebService or ProcessWebService, "
            "or define start() and stop()"
        )

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the service (nothing to do for a service that cannot be started)."""


def resolve_service(services: Mapping[str, Service], service_id: str) -> Service:
    """The service ``ID`` or the sub-service ``ID/SUB`` of ``services``; KeyError when there is none."""
    parent, _, sub = service_id.partition("/")
    if parent not in services:
        raise KeyError(f"no service {parent!r} (services: {', '.join(sorted(services)) or 'none'})")
    return services[parent].get_subservice(sub) if sub else services[parent]


class _Startable(Service):
    """What web services share: a start that waits until the service is ready, and its URL."""

    start_timeout = DEFAULT_START_TIMEOUT

    def __init__(self) -> None:
        super().__init__()
        self.url = None
        self._start_lock = threading.Lock()
        self._running_event: Optional[threading.Event] = None

    def start(self) -> Optional[str]:
        return self.get_url()

    def get_url(self) -> Optional[str]:
        """The service's URL, starting it first (and waiting until it is ready) when needed."""
        with self._start_lock:
            if self.state is ServiceState.STOPPING:
                raise RuntimeError(f"service {self.id} is stopping: start it again once it has stopped")
            if self.state is ServiceState.RUNNING:
                return self.url
            if self.state in (ServiceState.STOPPED, ServiceState.ERROR):
                self._error = None
                self.url = None
                self._running_event = threading.Event()
                self.state = ServiceState.STARTING
                try:
                    self._launch()
                except BaseException as exc:
                    self.set_error(f"{type(exc).__name__}: {exc}")
                    self._running_event.set()
                    raise
            running = self._running_event
        assert running is not None
        if not running.wait(self.start_timeout):
            self.stop()
            message = f"service {self.id} was not ready within {self.start_timeout:.0f} s"
            self.set_error(message)
            raise TimeoutError(message)
        with self._start_lock:
            if self.state is ServiceState.STARTING:
                if self.url is None and self.error is None:
                    self.set_error("the service said it was ready without setting its url")
                else:
                    self.state = ServiceState.RUNNING
        if self.state is ServiceState.ERROR:
            raise RuntimeError(f"service {self.id} did not start: {self.error}")
        return self.url

    def _launch(self) -> None:
        """Start serving in the background; ``self._running_event`` is set once ``self.url`` is."""
        raise NotImplementedError(f"{type(self).__qualname__} must define _launch() (WebService and "
                                  "ProcessWebService do)")


#: Seconds a ``WebService`` has to return once :meth:`WebService.should_stop` says so, before
#: ``SystemExit`` is raised in its thread.
STOP_GRACE_SECONDS = 0.3


def _raise_in_thread(thread: threading.Thread, exception: type[BaseException]) -> None:
    """Raise ``exception`` in ``thread`` at its next Python instruction (CPython's async exception)."""
    import ctypes

    if thread.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(exception))


class WebService(_Startable):
    """A web server run in a thread of this process: define ``_serve(running)``, which sets
    ``self.url``, calls ``running.set()`` and serves until :meth:`should_stop` says so."""

    def __init__(self) -> None:
        super().__init__()
        self.thread: Optional[threading.Thread] = None
        self._stop_event = threading.Event()

    def should_stop(self) -> bool:
        """Whether :meth:`stop` was called: ``_serve`` returns when it is True."""
        return self._stop_event.is_set()

    def _serve(self, running: threading.Event) -> None:
        raise NotImplementedError(f"{type(self).__qualname__} must define _serve(running)")

    def _launch(self) -> None:
        self._stop_event.clear()
        self.thread = threading.Thread(target=self._serve_wrapper, name=f"xpm-service[{self.id}]", daemon=True)
        self.thread.start()

    def _serve_wrapper(self) -> None:
        running = self._running_event
        assert running is not None
        handlers = self.setup_logging()
        try:
            self._serve(running)
        except SystemExit:
            if not self._stop_event.is_set():  # the service's own sys.exit() while running
                self.set_error("_serve called sys.exit()")
        except BaseException as exc:
            logger.exception("service %s failed", self.id)
            self.set_error(f"{type(exc).__name__}: {exc}")
        finally:
            self.cleanup_logging(*handlers)
            if not running.is_set():
                if self.state is ServiceState.STARTING:
                    self.set_error("_serve returned before the service was ready")
                running.set()
            elif self.state is ServiceState.RUNNING:  # it ended by itself
                self.url = None
                self.state = ServiceState.STOPPED

    def stop(self, timeout: float = 2.0) -> None:
        with self._start_lock:
            alive = self.thread is not None and self.thread.is_alive()
            if self.state in (ServiceState.STOPPED, ServiceState.ERROR) and not alive:
                return
            starting = self._running_event if self.state is ServiceState.STARTING else None
            self.state = ServiceState.STOPPING
        if starting is not None:
            starting.wait(timeout)
        self._stop_event.set()
        if self.thread is not None and self.thread.is_alive():
            self.thread.join(min(timeout, STOP_GRACE_SECONDS))
            if self.thread.is_alive():
                # experimaestro's services serve until SystemExit is raised in their thread (e.g.
                # ``serve_forever()``): do the same, so that ported services stop.
                _raise_in_thread(self.thread, SystemExit)
                self.thread.join(timeout)
            if self.thread.is_alive():
                # A thread cannot be killed: it is a daemon, it ends with the process.
                logger.warning("service %s did not stop within %.0f s (its _serve ignores should_stop())",
                               self.id, timeout)
        with self._start_lock:
            self.url = None
            self._running_event = None
            self.state = ServiceState.STOPPED


class ProcessWebService(_Startable):
    """A web server run as a child process (``tensorboard --logdir ...``): define ``_build_command()``
    and ``_wait_for_ready()``, which returns the URL once the server answers (see :func:`wait_for_port`).

    Its output goes to the service's log files; the process is stopped with the service, and when
    this process exits.
    """

    def __init__(self) -> None:
        super().__init__()
        self.process: Optional[subprocess.Popen[bytes]] = None

    def _build_command(self) -> list[str]:
        raise NotImplementedError(f"{type(self).__qualname__} must define _build_command()")

    def _wait_for_ready(self) -> str:
        raise NotImplementedError(f"{type(self).__qualname__} must define _wait_for_ready() (see wait_for_port)")

    def _launch(self) -> None:
        command = [str(part) for part in self._build_command()]
        logger.info("starting service %s: %s", self.id, " ".join(command))
        outputs: list[IO[bytes]] = []
        if self.log_directory is not None:
            self.log_directory.mkdir(parents=True, exist_ok=True)
        try:
            for path in (self.stdout, self.stderr):
                if path is not None:
                    outputs.append(open(path, "wb"))
            stdout, stderr = outputs if outputs else (subprocess.DEVNULL, subprocess.DEVNULL)
            # Its own session: Ctrl-C in the terminal reaches this process, which stops the
            # service in order, rather than killing the server under it.
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                cwd=self.log_directory, start_new_session=True,
            )
        finally:
            for output in outputs:
                output.close()
        atexit.register(self._kill_process)
        threading.Thread(target=self._watch_process, name=f"xpm-service[{self.id}]", daemon=True).start()

    def _watch_process(self) -> None:
        running = self._running_event
        process = self.process
        assert running is not None and process is not None
        try:
            self.url = self._wait_for_ready()
            running.set()
            code = process.wait()
            with self._start_lock:
                if self.state in (ServiceState.STARTING, ServiceState.RUNNING):  # not stopped by us
                    self.url = None
                    if code == 0:
                        self.state = ServiceState.STOPPED
                    else:
                        self.set_error(f"the process exited with code {code} (see {self.stderr})")
        except Exception as exc:
            if self.state is ServiceState.STARTING:
                self.set_error(str(exc))
                self._kill_process()
        finally:
            running.set()

    @property
    def pid(self) -> Optional[int]:
        """The server process's id, while it runs."""
        return self.process.pid if self.process is not None and self.process.poll() is None else None

    def stop(self, timeout: float = 2.0) -> None:
        with self._start_lock:
            if self.state in (ServiceState.STOPPED, ServiceState.ERROR) and self.pid is None:
                return
            starting = self._running_event if self.state is ServiceState.STARTING else None
            self.state = ServiceState.STOPPING
        if starting is not None:
            starting.wait(timeout)
        self._kill_process(timeout)
        atexit.unregister(self._kill_process)
        with self._start_lock:
            self.url = None
            self._running_event = None
            self.state = ServiceState.STOPPED

    def _kill_process(self, timeout: float = 2.0) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.warning("service %s did not end within %.0f s of SIGTERM: killed", self.id, timeout)
            process.kill()
            process.wait()


def wait_for_port(
    host: str,
    port: int,
    *,
    process: Optional[subprocess.Popen[Any]] = None,
    timeout: float = DEFAULT_START_TIMEOUT,
) -> None:
    """Return once ``host:port`` accepts connections; an error if ``process`` ends first, or after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server process exited with code {process.returncode} before listening on "
                               f"{host}:{port}")
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f} s") from None
            time.sleep(0.1)
