"""The Slurm section of the xpm agent skill (``xpm install-skill``), written from the option classes."""

from __future__ import annotations

import attrs

from xpm_slurm.settings import SlurmSettings

_INTRO = """\
# Slurm launcher (xpm-slurm)

Installed here: the `slurm` launcher and the `xpm slurm` commands. Jobs go to Slurm with
`sbatch`; their state is polled in batches (one `sacct` per interval for every job), so
submitting thousands of jobs is fine. Jobs submitted together with the same options go as
**job arrays** (one `sbatch` per array).

## In Python

```python run
from xpm_slurm import SlurmLauncher, SlurmOptions

cpu = SlurmLauncher(options=SlurmOptions(partition="cpu", time="2:00:00", mem="8G"))
gpu = cpu.config(partition="gpu", gpus=1)      # a modified copy; cpu is unchanged
assert gpu.options.partition == "gpu" and cpu.options.partition == "cpu"
# task.submit(launcher=gpu), or experiment(..., launcher=cpu) for every task
```

Building a launcher runs no Slurm command. `config(...)` with an unknown option name raises
`TypeError` listing the known ones; put any other sbatch argument in `extra=["--exclusive"]`.

## `SlurmOptions`: sbatch options

Each field becomes an sbatch argument (`cpus_per_task=4` -> `sbatch --cpus-per-task=4`), in
this order; `None` leaves the cluster's default.

| option | sbatch |
| --- | --- |
"""

_SETTINGS = """
## Launcher settings

Keywords of `SlurmLauncher(...)`, or keys of `launchers: slurm:` in `~/.config/xpm/settings.yaml`
(where the sbatch options above give the defaults of every Slurm job):

| setting | default | meaning |
| --- | --- | --- |
"""

_OUTRO = """
## Cluster facts and advice

- `xpm slurm partitions` lists partitions with their time limits, CPUs, memory and GPUs;
  `xpm slurm check` shows the Slurm version, `MaxArraySize` and whether `sacct` answers. Read
  them before choosing `partition`, `time` and `gpus`.
- A job pending for a reason that can never clear (`PartitionTimeLimit`, `InvalidAccount`, ...)
  is cancelled and ends in error with reason `rejected: <Reason>`: fix the options, submit again.
- `TIMEOUT` ends the job with reason `timeout`: a `ResumableTask` is resubmitted (up to
  `max_retries`) and `self.remaining_time()` gives the seconds left, read once from `squeue`.
- Each job folder holds `NAME.sh` (the sbatch script) next to `NAME.out`/`NAME.err`.
- Killing the driver leaves the Slurm jobs running; running the plan again follows them.
"""


def _sbatch_flag(name: str) -> str:
    return "further arguments, verbatim" if name == "extra" else f"`sbatch --{name.replace('_', '-')}`"


def _default(field: attrs.Attribute) -> str:
    if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
        return "`[]`"
    return "none" if field.default in (None, "") else f"`{field.default}`"


def section() -> str:
    """The section's Markdown: every ``SlurmOptions`` field and launcher setting, as the code has them."""
    from xpm_slurm.options import SlurmOptions

    options = SlurmOptions.field_names()
    lines = [_INTRO.rstrip("\n")]
    lines += [f"| `{name}` | {_sbatch_flag(name)} |" for name in options]
    lines.append(_SETTINGS.rstrip("\n"))
    for field in attrs.fields(SlurmSettings):
        if field.name in options:
            continue
        lines.append(f"| `{field.name}` | {_default(field)} | {field.metadata.get('help', '')} |")
    lines.append(_OUTRO.rstrip("\n"))
    return "\n".join(lines) + "\n"
