"""``DynamicLauncher``: a launcher that picks, for each job as it starts, one of several launchers by priority."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from xpm_core.plugin.launcher import JobLaunch, Launcher, ProcessRef, ProcessState

if TYPE_CHECKING:
    from xpm_core.plugin.connector import Connector


class DynamicLauncher(Launcher):
    """Chooses one of ``launchers`` for each job, when the job is about to start.

    With ``sample=False`` (the default) the launcher of highest ``priority`` is chosen, at random
    among ties; with ``sample=True`` one is drawn with a probability proportional to its priority
    (every priority must then be positive). :meth:`update` is called before each choice: override
    it to refresh the launchers or their priorities (e.g. from a cluster's queue).

    The chosen launcher starts, follows and cancels the job: the job's ``NAME.pid`` names it, so a
    later driver re-attaches to the job without this object.
    """

    name = "dynamic"

    def __init__(
        self,
        launchers: Iterable[Launcher],
        *,
        sample: bool = False,
        connector: Connector | None = None,
        priority: float = 0,
    ) -> None:
        self._launchers = list(launchers)
        if not self._launchers:
            raise ValueError("DynamicLauncher needs at least one launcher to choose from")
        for launcher in self._launchers:
            if not isinstance(launcher, Launcher):
                raise TypeError(f"DynamicLauncher chooses among launchers, not {launcher!r}")
        # Where job folders are written before the choice: the first launcher's host.
        super().__init__(connector or self._launchers[0].connector, priority=priority)
        self.sample = sample

    def __repr__(self) -> str:
        shown = ", ".join(repr(launcher) for launcher in self._launchers[:3])
        more = f", ... ({len(self._launchers)} in all)" if len(self._launchers) > 3 else ""
        return f"DynamicLauncher([{shown}{more}], sample={self.sample})"

    @property
    def launchers(self) -> list[Launcher]:
        """The launchers, highest priority first."""
        return sorted(self._launchers, key=lambda launcher: launcher.priority, reverse=True)

    def add_launcher(self, launcher: Launcher) -> None:
        self._launchers.append(launcher)

    def remove_launcher(self, launcher: Launcher) -> None:
        self._launchers.remove(launcher)

    def update(self) -> None:
        """Called before each choice; does nothing here (override it to refresh the launchers)."""

    def select_launcher(self) -> Launcher:
        """Choose a launcher (after :meth:`update`)."""
        self.update()
        launchers = self.launchers
        if not launchers:
            raise RuntimeError(f"{self!r} has no launcher left to choose from after update()")
        if self.sample:
            weights = [launcher.priority for launcher in launchers]
            if any(weight <= 0 for weight in weights):
                raise ValueError(
                    "DynamicLauncher(sample=True) draws launchers in proportion to their priority: "
                    f"every priority must be positive, got {weights}"
                )
            return random.choices(launchers, weights=weights, k=1)[0]
        best = launchers[0].priority
        return random.choice([launcher for launcher in launchers if launcher.priority == best])

    def resolve(self, job: Any) -> Launcher:
        """The launcher that starts ``job``: chosen now; its own listeners then see the job."""
        from xpm_core.runtime.job import adopt_listener_dependencies  # noqa: PLC0415

        chosen = self.select_launcher().resolve(job)  # a dynamic launcher may hold dynamic launchers
        chosen.onSubmit(job)
        adopt_listener_dependencies(job)
        return chosen

    # Used directly (outside the scheduler, which resolves first): delegate to a chosen launcher.

    async def submit(self, launch: JobLaunch) -> ProcessRef:
        return await self.select_launcher().submit(launch)

    def _owner(self, ref: ProcessRef) -> Launcher:
        for launcher in self._launchers:
            if launcher.name == ref.launcher and launcher.connector.name == dict(ref.connector).get("name"):
                return launcher
        raise ValueError(f"{self!r} has no launcher of type {ref.launcher!r} for process {ref.id}")

    async def poll(self, refs: Sequence[ProcessRef]) -> dict[str, ProcessState]:
        states: dict[str, ProcessState] = {}
        groups: dict[int, tuple[Launcher, list[ProcessRef]]] = {}
        for ref in refs:
            owner = self._owner(ref)
            groups.setdefault(id(owner), (owner, []))[1].append(ref)
        for owner, owned in groups.values():
            states.update(await owner.poll(owned))
        return states

    async def cancel(self, ref: ProcessRef) -> None:
        await self._owner(ref).cancel(ref)
