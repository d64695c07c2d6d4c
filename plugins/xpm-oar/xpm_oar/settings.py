"""``OarSettings``: the ``launchers: oar:`` section of settings.yaml (the launcher's keywords)."""

from __future__ import annotations

from typing import Optional

import attrs


@attrs.define(kw_only=True)
class OarSettings:
    """Settings of the OAR launcher; every field is also an ``OarLauncher(...)`` keyword.

    The oarsub options (``resources`` ... ``extra``) are the launcher's default ``OarOptions``;
    the others say how xpm talks to OAR.
    """

    # ---- how xpm talks to OAR ------------------------------------------------------------
    poll_interval: float = attrs.field(
        default=15.0,
        metadata={"help": "Seconds between two status queries (one oarstat for all jobs of the launcher)"},
    )
    binpath: str = attrs.field(
        default="",
        metadata={"help": "Folder of oarsub, oarstat, oardel, oarnodes (empty: found on PATH)"},
    )
    submit_user: Optional[str] = attrs.field(
        default=None,
        metadata={
            "help": "When xpm runs as root (OAR refuses root's jobs), run oarsub and oardel as this "
            "user (runuser -u USER --) and give it the job folders; ignored for other users"
        },
    )
    arrays: bool = attrs.field(
        default=True,
        metadata={"help": "Submit jobs that are ready together as OAR arrays (one oarsub per array)"},
    )
    array_window: float = attrs.field(
        default=0.5,
        metadata={
            "help": "Seconds a job submitted alone waits for others with the same options to join "
            "it in an array (0: only jobs submitted together form arrays)"
        },
    )
    max_array_size: int = attrs.field(default=1000, metadata={"help": "Most jobs per array"})
    submit_concurrency: int = attrs.field(default=2, metadata={"help": "oarsub commands running at once"})
    submit_interval: float = attrs.field(
        default=0.1, metadata={"help": "Seconds between the starts of two oarsub commands"}
    )
    submit_retry_for: float = attrs.field(
        default=600.0,
        metadata={
            "help": "Seconds during which a submission that failed to reach the server (or timed "
            "out) is retried with back-off before the job fails"
        },
    )
    submit_backoff: float = attrs.field(
        default=2.0,
        metadata={"help": "Seconds to wait after a refused submission; doubled at each refusal"},
    )
    submit_backoff_max: float = attrs.field(
        default=60.0, metadata={"help": "Longest wait between two retries of a refused submission"}
    )
    command_timeout: float = attrs.field(
        default=120.0,
        metadata={"help": "Seconds after which an oarsub, oarstat or oardel call is abandoned"},
    )
    besteffort_resubmit: bool = attrs.field(
        default=True,
        metadata={
            "help": "Give besteffort jobs the idempotent type, so that OAR resubmits a job it killed "
            "to free resources (xpm follows the new job; a ResumableTask resumes)"
        },
    )
    memory_property: Optional[str] = attrs.field(
        default=None,
        metadata={
            "help": "Resource property holding a node's memory in MiB (Grid'5000: memnode), used "
            "when a find_launcher requirement asks for memory"
        },
    )

    # ---- default oarsub options (OarOptions) -----------------------------------------------
    resources: Optional[str] = attrs.field(
        default=None, metadata={"help": "oarsub -l: resources, e.g. host=1/core=4 or host=1/gpu=2"}
    )
    walltime: Optional[str] = attrs.field(default=None, metadata={"help": "Wall-time limit, e.g. 2:00:00"})
    queue: Optional[str] = attrs.field(default=None, metadata={"help": "oarsub -q"})
    properties: Optional[str] = attrs.field(
        default=None, metadata={"help": "oarsub -p: SQL filter on resource properties"}
    )
    project: Optional[str] = attrs.field(default=None, metadata={"help": "oarsub --project"})
    types: list[str] = attrs.field(
        factory=list, metadata={"help": "oarsub -t: job types (besteffort, idempotent, deploy ...)"}
    )
    name: Optional[str] = attrs.field(default=None, metadata={"help": "Prefix of the OAR job names"})
    notification: Optional[str] = attrs.field(default=None, metadata={"help": "oarsub --notify"})
    checkpoint: Optional[int] = attrs.field(
        default=None,
        metadata={"help": "oarsub --checkpoint: seconds before the walltime when the job is signalled"},
    )
    signal: Optional[int] = attrs.field(
        default=None, metadata={"help": "oarsub --signal: the checkpoint signal (xpm's default: 15)"}
    )
    extra: list[str] = attrs.field(factory=list, metadata={"help": "Further oarsub arguments, verbatim (e.g. --hold)"})
