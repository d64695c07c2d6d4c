"""``SlurmSettings``: the ``launchers: slurm:`` section of settings.yaml (the launcher's keywords)."""

from __future__ import annotations

from typing import Optional

import attrs


@attrs.define(kw_only=True)
class SlurmSettings:
    """Settings of the Slurm launcher; every field is also a ``SlurmLauncher(...)`` keyword.

    The sbatch options (``partition`` ... ``extra``) are the launcher's default ``SlurmOptions``;
    the others say how xpm talks to Slurm.
    """

    # ---- how xpm talks to Slurm ------------------------------------------------------------
    poll_interval: float = attrs.field(
        default=30.0,
        metadata={"help": "Seconds between two status queries (one sacct for all jobs of the launcher)"},
    )
    binpath: str = attrs.field(
        default="",
        metadata={"help": "Folder of sbatch, sacct, squeue, scancel (empty: found on PATH)"},
    )
    accounting: str = attrs.field(
        default="auto",
        validator=attrs.validators.in_(("auto", "sacct", "squeue")),
        metadata={
            "help": "Status source: sacct (needs slurmdbd), squeue (no accounting), or auto "
            "(sacct, switching to squeue when accounting is disabled)"
        },
    )
    arrays: bool = attrs.field(
        default=True,
        metadata={"help": "Submit jobs that are ready together as job arrays (one sbatch per array)"},
    )
    array_window: float = attrs.field(
        default=0.5,
        metadata={
            "help": "Seconds a job submitted alone waits for others with the same options to join "
            "it in an array (0: only jobs submitted together form arrays)"
        },
    )
    max_array_size: Optional[int] = attrs.field(
        default=None,
        metadata={"help": "Most tasks per array (default: the cluster's MaxArraySize)"},
    )
    array_throttle: Optional[int] = attrs.field(
        default=None,
        metadata={"help": "Most tasks of one array running at once (sbatch --array=...%N)"},
    )
    submit_concurrency: int = attrs.field(default=2, metadata={"help": "sbatch commands running at once"})
    submit_interval: float = attrs.field(
        default=0.1, metadata={"help": "Seconds between the starts of two sbatch commands"}
    )
    submit_retry_for: float = attrs.field(
        default=3600.0,
        metadata={
            "help": "Seconds during which a submission refused for a submit limit or a time-out "
            "is retried (with back-off) before the job fails"
        },
    )
    submit_backoff: float = attrs.field(
        default=2.0,
        metadata={"help": "Seconds to wait after a refused submission; doubled at each refusal"},
    )
    submit_backoff_max: float = attrs.field(
        default=120.0, metadata={"help": "Longest wait between two retries of a refused submission"}
    )
    command_timeout: float = attrs.field(
        default=120.0,
        metadata={"help": "Seconds after which an sbatch, sacct, squeue or scancel call is abandoned"},
    )

    # ---- default sbatch options (SlurmOptions) ---------------------------------------------
    nodes: Optional[int] = attrs.field(default=None, metadata={"help": "sbatch --nodes"})
    time: Optional[str] = attrs.field(
        default=None, metadata={"help": "sbatch --time: wall-time limit, e.g. 2:00:00 or 1-00:00:00"}
    )
    partition: Optional[str] = attrs.field(default=None, metadata={"help": "sbatch --partition"})
    account: Optional[str] = attrs.field(default=None, metadata={"help": "sbatch --account"})
    qos: Optional[str] = attrs.field(default=None, metadata={"help": "sbatch --qos"})
    constraint: Optional[str] = attrs.field(default=None, metadata={"help": "sbatch --constraint"})
    mem: Optional[str] = attrs.field(default=None, metadata={"help": "sbatch --mem, e.g. 16G"})
    mem_per_gpu: Optional[str] = attrs.field(default=None, metadata={"help": "sbatch --mem-per-gpu"})
    cpus_per_task: Optional[int] = attrs.field(default=None, metadata={"help": "sbatch --cpus-per-task"})
    ntasks_per_node: Optional[int] = attrs.field(default=None, metadata={"help": "sbatch --ntasks-per-node"})
    gpus: Optional[str] = attrs.field(default=None, metadata={"help": "sbatch --gpus, e.g. 1 or a100:2"})
    gpus_per_node: Optional[str] = attrs.field(default=None, metadata={"help": "sbatch --gpus-per-node"})
    exclude: Optional[str] = attrs.field(default=None, metadata={"help": "sbatch --exclude: nodes to avoid"})
    nodelist: Optional[str] = attrs.field(default=None, metadata={"help": "sbatch --nodelist"})
    extra: list[str] = attrs.field(
        factory=list, metadata={"help": "Further sbatch arguments, verbatim (e.g. --exclusive)"}
    )
