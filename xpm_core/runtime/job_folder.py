"""Writing a job folder before it starts: ``params.json``, the ``NAME.py`` script, rotated logs."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from xpm_core.plugin.launcher import JobLaunch

if TYPE_CHECKING:
    from xpm_core.runtime.job import Job


def write_job_folder(job: Job) -> JobLaunch:
    """Prepare ``job``'s folder through its connector; returns what its launcher must run."""
    from xpm_core.config.partial_lock import PARTIALS_LINKS
    from xpm_core.runtime.job_script import job_script, user_python_paths
    from xpm_core.serialization.params import params_dict

    connector = job.launcher.connector
    python = connector.interpreter()  # first: a wrong remote interpreter fails before anything is written
    connector.mkdir(job.path)
    connector.remove(job.file("failed"))
    if job.retry_count and job.resumable:
        stamp = time.strftime("%Y%m%d%H%M%S")
        for suffix in ("out", "err"):  # keep each attempt's logs
            if connector.exists(job.file(suffix)):
                connector.rename(job.file(suffix), job.file(f"{stamp}.{suffix}"))
    params = params_dict(job.config, workspace_path=job.workspace, job_path=job.path)
    connector.write_text(job.path / "params.json", json.dumps(params))
    for name, partial in job.partials.items():  # .experimaestro/partials/NAME -> the shared folder
        connector.mkdir(partial)
        connector.mkdir(job.path / PARTIALS_LINKS)
        connector.symlink(partial, job.path / PARTIALS_LINKS / name)
    script = job.file("py")
    connector.write_text(script, job_script(user_python_paths(), job.launcher.launcher_info_code()), executable=True)
    return JobLaunch(
        job_id=job.identifier,
        task_id=job.task_id,
        directory=job.path,
        name=job.name,
        command=(python, str(script)),
        env=job.environment,
    )
