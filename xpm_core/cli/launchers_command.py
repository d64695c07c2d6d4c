"""``xpm launchers direct generate``: write a launchers.py for this machine (cores, memory, GPUs)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click


def _size_option(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> Optional[int]:
    if value is None:
        return None
    if value.strip() in ("0", "none"):
        return 0
    from xpm_core.launcherfinder.units import SIZE_UNITS_HELP, parse_size

    try:
        return parse_size(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a size with a unit ({SIZE_UNITS_HELP}), nor 0") from None


def _prompted_size(value: str) -> int:
    size = _size_option(click.get_current_context(), click.Option(["--memory-token"]), value)
    assert size is not None  # a prompt always gives a string
    return size


@click.group("launchers")
def launchers_group() -> None:
    """Write launcher configurations (launchers.py) for your machines."""


@launchers_group.group("direct")
def direct_group() -> None:
    """Launchers running jobs on this machine."""


@direct_group.command("generate")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write (default: launchers.py in $XPM_CONFIG_DIR or ~/.config/xpm).")
@click.option("-f", "--force", is_flag=True, help="Overwrite the file if it exists.")
@click.option("--memory-token", default="1GiB", show_default=True, callback=_size_option, metavar="SIZE",
              help="Jobs reserve memory in units of SIZE (0: memory is not reserved).")
@click.option("--gpu-tokens/--no-gpu-tokens", default=True, show_default=True,
              help="Jobs reserve the GPUs they ask for, so that no more run at once than there are GPUs.")
@click.option("-i", "--interactive", is_flag=True, help="Ask for the token units instead of using the options.")
def generate_command(output: Optional[Path], force: bool, memory_token: int, gpu_tokens: bool,
                     interactive: bool) -> None:
    """Write a launchers.py that runs jobs on this machine within its resources.

    Detects the cores, the memory and the GPUs (NVIDIA ones through nvidia-smi, an Apple GPU on
    Apple silicon), then writes a launchers.py whose find_launcher accepts the requirements that
    fit this machine and reserves, with tokens, the memory and GPUs each job asks for. Check what
    it uses with 'xpm find-launchers SPEC'.
    """
    from xpm_core.launcherfinder.finder import LAUNCHERS_FILE
    from xpm_core.launcherfinder.generate import detect_host, gib, render_launchers
    from xpm_core.settings.directory import config_dir

    target = output if output is not None else config_dir() / LAUNCHERS_FILE
    if target.exists() and not force:
        raise click.UsageError(f"{target} exists: add --force to overwrite it, or choose another file with -o")
    host = detect_host()
    gpus = ", ".join(f"{gpu.name} ({gib(gpu.memory)})" for gpu in host.cuda) or "no CUDA GPU"
    click.echo(f"Detected: {host.cores} cores, {gib(host.memory)} of memory, {gpus}"
               + (", an Apple GPU" if host.mps else ""))
    for note in host.notes:
        click.echo(f"warning: {note}", err=True)
    if interactive:
        memory_token = click.prompt("Memory token unit (0: memory not reserved)", default="1GiB",
                                    value_proc=_prompted_size)
        gpu_tokens = click.confirm("Reserve GPUs with a token?", default=True)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_launchers(host, memory_token=memory_token, gpu_tokens=gpu_tokens))
    except OSError as error:
        raise click.ClickException(f"cannot write {target}: {error.strerror or error}") from None
    click.echo(f"Wrote {target}")
