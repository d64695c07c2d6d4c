"""Kill and clean from the TUI: the CLI's dry run shown for confirmation, then ``--perform``.

The same :meth:`WorkspaceAPI.kill` / :meth:`WorkspaceAPI.clean` as ``xpm jobs kill/clean`` do
the work, so the TUI refuses what the CLI refuses (cleaning an unfinished job, killing a job
that never started) with the CLI's words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from xpm_tui.screens.confirm import ConfirmScreen

if TYPE_CHECKING:
    from xpm_core.plugin import ActionOutcome
    from xpm_tui.screens.base import ViewScreen

#: The outcomes of a dry run that the real action would carry out.
WOULD = {"kill": "would_kill", "clean": "would_delete", "clean_orphans": "would_delete"}
#: How messages name an action.
NAMES = {"kill": "kill", "clean": "clean", "clean_orphans": "clean orphans"}


async def confirm_and_act(screen: ViewScreen, action: str, references: Sequence[str], what: str) -> None:
    """Dry-run ``action`` (a ``WorkspaceAPI`` method: "kill", "clean" or "clean_orphans") on
    ``references``, ask, then do it and say what happened.

    Must run in a worker (it waits for the confirmation screen).
    """
    references = list(references)
    name = NAMES[action]
    if not references:
        screen.app.notify(f"no job to {name} ({what})", severity="warning")
        return

    dry: list[ActionOutcome] = await screen.backend.call(lambda api: getattr(api, action)(references, perform=False))
    ready = [outcome for outcome in dry if outcome.status == WOULD[action]]
    if not ready:
        lines = [outcome.message for outcome in dry] or [f"nothing to {name}"]
        screen.app.notify("\n".join(lines[:10]), title=f"{name}: nothing to do", severity="warning", timeout=8)
        return
    verb = "Kill" if action == "kill" else "Delete the folders of"
    question = f"{verb} {len(ready)} job{'s' if len(ready) > 1 else ''} ({what})?"
    if not await screen.app.push_screen(ConfirmScreen(question, [outcome.message for outcome in dry]),
                                        wait_for_dismiss=True):
        screen.app.notify(f"{name}: cancelled")
        return
    targets = [f"{outcome.task_id}/{outcome.job_id}" for outcome in ready]
    done: list[ActionOutcome] = await screen.backend.call(lambda api: getattr(api, action)(targets, perform=True))
    failed = [outcome for outcome in done if outcome.refused]
    lines = [outcome.message for outcome in done]
    screen.app.notify("\n".join(lines[:10]) + (f"\n... and {len(lines) - 10} more" if len(lines) > 10 else ""),
                      title=f"{name}: {len(done) - len(failed)} done, {len(failed)} failed",
                      severity="error" if failed else "information", timeout=8)
    screen.reload()
