"""``xpm plugins``: which plugins are installed, whether they are in use, and what each provides."""

from __future__ import annotations

import json
from typing import Any

import click

from xpm_core.plugin.hookspecs import XpmSpecs
from xpm_core.plugin.manager import LOAD_PLUGINS_ENV, PluginStatus
from xpm_core.plugin.registry import PluginRegistry

HOOK_NAMES = sorted(name for name in dir(XpmSpecs) if name.startswith("xpm_"))
COLUMNS = ("Name", "Version", "Entry point", "Status", "Provides", "Hooks")


def plugin_rows(registry: PluginRegistry, *, include_builtins: bool) -> list[dict[str, Any]]:
    """One JSON-ready dict per plugin, with stable keys."""
    rows = []
    for record in registry.pm.records.values():
        if (record.builtin and not include_builtins) or record.status == PluginStatus.NOT_LOADED:
            continue
        rows.append(
            {
                "name": record.distribution if not record.builtin else record.name,
                "distribution": record.distribution,
                "version": record.version,
                "entry_point": record.entry_point,
                "status": record.status,
                "builtin": record.builtin,
                "provides": registry.provided_by(record.name),
                "hooks": registry.hooks_of(record.name),
                "error": record.error,
            }
        )
    return sorted(rows, key=lambda row: (row["builtin"], row["name"]))


def _table_cells(row: dict[str, Any]) -> tuple[str, ...]:
    provides = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in row["provides"].items())
    entry_point = row["entry_point"].partition(" =")[0] if row["entry_point"] else "(built-in)"
    status = row["status"] if not row["error"] else f"{row['status']}: {row['error']}"
    return (row["name"], row["version"], entry_point, status, provides, ", ".join(row["hooks"]))


def format_table(rows: list[dict[str, Any]]) -> str:
    """An aligned text table of the rows."""
    cells = [COLUMNS, *(_table_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS) - 1)]
    lines = []
    for line in cells:
        padded = [value.ljust(width) for value, width in zip(line, widths)]
        lines.append("  ".join([*padded, line[-1]]).rstrip())
    return "\n".join(lines)


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list of objects, stable keys).")
@click.option("--all", "include_builtins", is_flag=True, help="Include the core's built-in plugins.")
@click.option(
    "--hook",
    type=click.Choice(HOOK_NAMES),
    metavar="NAME",
    help="Only the plugins implementing this hook (e.g. xpm_launchers).",
)
@click.pass_obj
def plugins_command(
    registry: PluginRegistry, as_json: bool, include_builtins: bool, hook: str | None
) -> None:
    """List installed plugins: version, entry point, status, what they provide and their hooks.

    Status is 'active', 'disabled' (named in XPM_DISABLE_PLUGINS) or 'failed' (the plugin
    could not be imported; the error follows). Plugins left out of XPM_LOAD_PLUGINS are not
    listed: a note on standard error names them.
    """
    rows = plugin_rows(registry, include_builtins=include_builtins)
    if hook is not None:
        rows = [row for row in rows if hook in row["hooks"]]
    skipped = sorted(
        name for name, record in registry.pm.records.items() if record.status == PluginStatus.NOT_LOADED
    )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if rows:
        click.echo(format_table(rows))
    elif include_builtins or hook is not None:
        click.echo("No plugin matches.")
    elif skipped:
        click.echo("No plugins loaded.")
    else:
        click.echo(
            "No plugins installed (install one with e.g. 'pip install xpm-slurm'; "
            "'xpm plugins --all' also lists the built-in ones)."
        )
    if skipped:
        click.echo(f"Not loaded because of {LOAD_PLUGINS_ENV}: {', '.join(skipped)}", err=True)
