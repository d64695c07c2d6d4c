"""Method decorators of configurations: ``@initializer`` (run once) and ``@cache(name)`` (a file per identifier)."""

from __future__ import annotations

import fcntl
import functools
import os
from pathlib import Path
from typing import Any, Callable

from xpm_core.lock_permissions import open_lock_file


def initializer(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``method`` once per object: later calls return the first call's result."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        value = method(self, *args, **kwargs)
        # Replace the bound method on this object only: other objects still initialize once each.
        setattr(self, method.__name__, lambda *args, **kwargs: value)
        return value

    return wrapper


def _running_workspace() -> Path:
    """The workspace of the running job: the job process runs in ``WS/jobs/<task-id>/<hash>``."""
    job_dir = Path.cwd()
    if not (job_dir / "params.json").is_file():
        raise RuntimeError(
            "@cache methods can only be called inside a running task (the job process); "
            f"the current directory {job_dir} is not a job directory"
        )
    return job_dir.parents[2]


def _identity(config: Any) -> tuple[str, str]:
    """(type identifier, identifier hex) of a configuration or of an object built from one."""
    from xpm_core.config.objects import ConfigMixin  # noqa: PLC0415

    source = config if isinstance(config, ConfigMixin) else config.__dict__.get("__config__")
    if isinstance(source, ConfigMixin):
        return source.__xpmtype__.identifier, source.__identifier__().all.hex()
    identifier = config.__dict__.get("__xpmidentifier__")
    typename = config.__dict__.get("__xpmtypename__")
    if identifier is None or typename is None:
        raise RuntimeError(
            f"@cache needs the configuration of {type(config).__qualname__} objects: "
            "build them with cfg.instance(keep=True) or run them in a task"
        )
    return typename, identifier.all.hex()


def cache(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``@cache("file")``: the method receives ``WS/config/<type-id>/<identifier>/<file>`` as its first
    argument and runs under the file lock ``<file>.lock`` (one process at a time)."""

    def decorator(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            typename, hexid = _identity(self)
            directory = _running_workspace() / "config" / typename / hexid
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / name
            fd = open_lock_file(path.with_name(path.name + ".lock"))
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                return method(self, path, *args, **kwargs)
            finally:
                os.close(fd)  # closing releases the lock

        return wrapper

    return decorator
