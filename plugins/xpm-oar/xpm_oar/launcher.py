"""``OarLauncher``: oarsub -S submission (alone or as arrays), batched oarstat polling, oardel."""

from __future__ import annotations

import asyncio
import copy
import logging
import re
import secrets
import time
from typing import TYPE_CHECKING, Any, Hashable, Sequence

import attrs

from xpm_core.plugin import (
    CommandError,
    CommandResult,
    Gatherer,
    JobLaunch,
    Launcher,
    Outcome,
    ProcessRef,
    ProcessState,
    ProcessStatus,
    SubmitPolicy,
)
from xpm_oar import status
from xpm_oar.options import OarOptions
from xpm_oar.script import array_script, array_script_path, job_script, script_path
from xpm_oar.settings import OarSettings
from xpm_oar.submission import OarSubmitError, OarSubmitThrottle

if TYPE_CHECKING:
    from xpm_core.plugin import Connector, PluginRegistry

logger = logging.getLogger("xpm.oar")

#: Job ids per oarstat call: keeps command lines short (arrays have one id per job in OAR).
IDS_PER_QUERY = 500
#: Seconds a poll waits for concurrent polls of the same cluster to share its query (the
#: scheduler checks each job's NAME.pid on its own when an experiment restarts).
POLL_WINDOW = 0.05
#: Settings recorded in NAME.pid and restored on re-attach (``for_process``).
_REATTACH_SETTINGS = ("binpath", "poll_interval", "submit_user")
#: oardel answers for jobs that have already ended (or that OAR forgot): nothing to do.
_ALREADY_ENDED = re.compile(r"already killed|not the right user|does not exist|Terminated|Error", re.IGNORECASE)

#: A job to submit, with the launcher (a ``config`` copy, with its own environment) it came to.
Entry = tuple["OarLauncher", JobLaunch]


class _Cluster:
    """What launcher copies of one cluster share: commands, submission pacing, what was learnt."""

    def __init__(self, connector: Connector, settings: OarSettings) -> None:
        self.connector = connector
        self.settings = settings
        self.binpath = settings.binpath.rstrip("/") + "/" if settings.binpath else ""
        self.throttle = OarSubmitThrottle(
            SubmitPolicy.from_settings(settings)
        )
        #: Jobs OAR submitted again in place of others (besteffort + idempotent): old -> new id.
        self.resubmitted: dict[str, str] = {}
        #: Whether commands run as root on the connector's host (asked once).
        self.root: bool | None = None
        self._root_probe: asyncio.Task[bool] | None = None
        self.submissions: Gatherer[Entry, ProcessRef] = Gatherer(settings.array_window, self._submit_batch)
        self.polls: Gatherer[tuple[OarLauncher, Sequence[ProcessRef]], dict[str, ProcessState]] = Gatherer(
            POLL_WINDOW, self._poll_batch
        )

    async def _submit_batch(self, key: Hashable, entries: list[Entry]) -> list[Outcome[ProcessRef]]:
        return await entries[0][0]._submit_entries(entries)

    async def _poll_batch(
        self, key: Hashable, requests: list[tuple[OarLauncher, Sequence[ProcessRef]]]
    ) -> list[Outcome[dict[str, ProcessState]]]:
        launcher = requests[0][0]
        every = {ref.id: ref for _, refs in requests for ref in refs}
        states = await launcher._query_states(list(every.values()))
        return [{ref.id: states[ref.id] for ref in refs} for _, refs in requests]

    def command(self, name: str) -> str:
        return f"{self.binpath}{name}"

    def current_id(self, job_id: str) -> str:
        """The job now standing for ``job_id`` (itself, unless OAR resubmitted it)."""
        seen = {job_id}
        while job_id in self.resubmitted and self.resubmitted[job_id] not in seen:
            job_id = self.resubmitted[job_id]
            seen.add(job_id)
        return job_id

    async def run(self, args: Sequence[str], **kwargs: Any) -> CommandResult:
        """Run a command through the connector in a worker thread (the loop keeps going)."""
        try:
            return await asyncio.to_thread(
                self.connector.run, list(args), timeout=self.settings.command_timeout, **kwargs
            )
        except FileNotFoundError:
            raise FileNotFoundError(
                f"{args[0]} is not found on {self.connector.hostname}: is OAR's user part (oar-user) "
                "installed there? Set the oar launcher's binpath to the folder of the OAR commands"
            ) from None

    async def submitter(self) -> list[str]:
        """The prefix running a command as the submit user, when xpm runs as root and one is set."""
        user = self.settings.submit_user
        if not user:
            return []
        if self.root is None:
            # Asked once, however many submissions start at the same moment.
            loop = asyncio.get_running_loop()
            if self._root_probe is None or self._root_probe.get_loop() is not loop:
                self._root_probe = loop.create_task(self._is_root())
            self.root = await self._root_probe
        return ["runuser", "-u", user, "--"] if self.root else []

    async def _is_root(self) -> bool:
        result = await self.run(["id", "-u"])
        return result.returncode == 0 and result.stdout.strip() == "0"


class OarLauncher(Launcher):
    """Runs jobs on an OAR cluster reached through a connector (local machine, SSH frontend).

    ``OarLauncher(connector, OarOptions(resources="host=1/core=4", walltime="2:00:00"))``;
    keywords are those of :class:`~xpm_oar.settings.OarSettings` (the oarsub option ones are
    merged into ``options``).
    """

    name = "oar"

    def __init__(self, connector: Connector | None = None, options: OarOptions | None = None, **settings: Any) -> None:
        super().__init__(connector)
        unknown = sorted(set(settings) - {field.name for field in attrs.fields(OarSettings)})
        if unknown:
            known = ", ".join(field.name for field in attrs.fields(OarSettings))
            raise TypeError(f"unknown OarLauncher setting(s) {', '.join(map(repr, unknown))}; known: {known}")
        option_values = {key: value for key, value in settings.items() if key in OarOptions.field_names()}
        self.settings = OarSettings(**settings)
        self.options = (options or OarOptions()).merge(**option_values)
        self.poll_interval = float(self.settings.poll_interval)
        self._cluster = _Cluster(self.connector, self.settings)

    @classmethod
    def from_settings(cls, settings: OarSettings, connector: Connector | None = None) -> OarLauncher:
        """The launcher described by a settings.yaml section."""
        return cls(connector, **attrs.asdict(settings))

    def __repr__(self) -> str:
        return f"OarLauncher({self.connector!r}, {self.options!r})"

    def config(self, **options: Any) -> OarLauncher:
        """A copy asking for other oarsub options (``launcher.config(walltime="1:00:00")``).

        The copy shares the connector, the submission pacing and what was learnt of the cluster.
        """
        OarOptions.check_names(options)
        clone = copy.copy(self)
        clone.environ = dict(self.environ)
        clone.options = self.options.merge(**options)
        return clone

    def for_requirement(self, requirement: Any) -> OarLauncher:
        """A copy asking OAR for what a ``find_launcher`` requirement needs (cores, GPUs, memory, duration)."""
        wanted = OarOptions.from_requirement(requirement, memory_property=self.settings.memory_property)
        return self.config(**{name: getattr(wanted, name) for name in ("resources", "walltime", "properties")})

    @property
    def submit_retries(self) -> int:
        """How many refused submissions were retried (the server was unreachable, a time-out)."""
        return self._cluster.throttle.retries

    # ---- submission ------------------------------------------------------------------------

    def _job_name(self, stem: str) -> str:
        # Unique per submission: finds the job again after an oarsub whose answer was lost.
        return f"{self.options.name or 'xpm'}-{stem}-{secrets.token_hex(4)}"

    def _directives(self) -> list[str]:
        """The ``#OAR`` lines of this launcher's options (besteffort jobs made idempotent)."""
        options = self.options
        if self.settings.besteffort_resubmit and options.besteffort and "idempotent" not in options.types:
            options = attrs.evolve(options, types=(*options.types, "idempotent"))
        return options.directives()

    def _write_script(self, launch: JobLaunch, job_name: str) -> None:
        text = job_script(launch, job_name=job_name, directives=self._directives(), environ=self.environ)
        self.connector.write_text(script_path(launch), text, executable=True)

    async def _hand_over(self, launches: Sequence[JobLaunch]) -> list[str]:
        """Give the job folders to the submit user (the job runs as that user); the command prefix."""
        prefix = await self._cluster.submitter()
        if prefix:
            user = self.settings.submit_user
            directories = sorted({str(launch.directory) for launch in launches})
            result = await self._cluster.run(["chown", "-R", str(user), *directories])
            if result.returncode != 0:
                raise OarSubmitError(
                    f"cannot give the job folder(s) to the submit user {user}: {result.stderr.strip()}"
                )
        return prefix

    async def _oarsub(self, what: str, job_name: str, script: str, prefix: list[str], directory: str) -> list[str]:
        cluster = self._cluster
        lost_answer = False

        async def attempt() -> CommandResult:
            nonlocal lost_answer
            if lost_answer:
                # The last oarsub timed out: the server may have queued the job anyway. Adopt it
                # rather than submit a second copy.
                found = await self._find_by_name(job_name)
                if found:
                    return CommandResult(0, "".join(f"OAR_JOB_ID={job_id}\n" for job_id in found), "")
            try:
                result = await cluster.run(
                    [*prefix, cluster.command("oarsub"), "-S", script, *self.options.extra], cwd=directory
                )
            except TimeoutError:
                lost_answer = True
                raise
            return result

        try:
            return (await cluster.throttle.submit(what, attempt)).split()
        except OarSubmitError as error:
            if "root and oar users are not allowed" in str(error) and not self.settings.submit_user:
                raise OarSubmitError(
                    f"{error} (xpm runs as root: set the oar launcher's submit_user to an "
                    "unprivileged user that submits the jobs)"
                ) from None
            raise

    async def _find_by_name(self, job_name: str) -> list[str]:
        cluster = self._cluster
        quoted = job_name.replace("'", "''")
        result = await cluster.run([cluster.command("oarstat"), "-J", "--sql", f"job_name = '{quoted}'"])
        if result.returncode != 0:
            return []
        rows = status.parse_oarstat(result.stdout)
        return sorted(rows, key=_numeric)

    def _ref(self, launch: JobLaunch, job_id: str, job_name: str, submitted: float) -> ProcessRef:
        # What a later driver needs to follow the job as this one would (for_process).
        details: dict[str, Any] = {
            "name": job_name,
            "submitted": submitted,
            "poll_interval": self.poll_interval,
        }
        for key in ("binpath", "submit_user"):
            if getattr(self.settings, key):
                details[key] = getattr(self.settings, key)
        return self.process_ref(launch, job_id, **details)

    async def submit(self, launch: JobLaunch) -> ProcessRef:
        """Submit one job; with arrays on, jobs submitted within ``array_window`` seconds form arrays."""
        if self.settings.arrays and self.settings.array_window > 0:
            return await self._cluster.submissions.add(self.options.key(), (self, launch))
        return await self._submit_single(launch)

    async def submit_many(self, launches: Sequence[JobLaunch]) -> list[ProcessRef]:
        """Submit several jobs: as OAR arrays (of at most ``max_array_size``) unless disabled."""
        if not self.settings.arrays:
            return list(await asyncio.gather(*(self._submit_single(launch) for launch in launches)))
        outcomes = await self._submit_entries([(self, launch) for launch in launches])
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return list(outcomes)  # type: ignore[arg-type]

    async def _submit_single(self, launch: JobLaunch) -> ProcessRef:
        job_name = self._job_name(launch.name)
        await asyncio.to_thread(self._write_script, launch, job_name)
        prefix = await self._hand_over([launch])
        submitted = time.time()
        ids = await self._oarsub(
            f"job {launch.name} in {launch.directory}",
            job_name,
            str(script_path(launch)),
            prefix,
            str(launch.directory),
        )
        return self._ref(launch, ids[0], job_name, submitted)

    async def _submit_entries(self, entries: list[Entry]) -> list[Outcome[ProcessRef]]:
        """Submit jobs asking for the same options, as arrays of at most ``max_array_size`` jobs."""
        size = max(1, self.settings.max_array_size)
        chunks = [entries[start : start + size] for start in range(0, len(entries), size)]
        results = await asyncio.gather(*(self._submit_array(chunk) for chunk in chunks), return_exceptions=True)
        outcomes: list[Outcome[ProcessRef]] = []
        for chunk, result in zip(chunks, results):
            # A refused array fails its own jobs only.
            outcomes.extend([result] * len(chunk) if isinstance(result, BaseException) else result)
        return outcomes

    async def _submit_array(self, entries: list[Entry]) -> list[ProcessRef]:
        if len(entries) == 1:
            owner, launch = entries[0]
            return [await owner._submit_single(launch)]
        job_name = self._job_name("array")
        launches = [launch for _, launch in entries]
        dispatcher = array_script_path(launches[0])

        def write_scripts() -> None:
            # Each array job runs its own NAME.sh, written by the launcher copy it came to (its
            # environment); the dispatcher picks it by OAR_ARRAY_INDEX.
            for owner, launch in entries:
                owner._write_script(launch, job_name)
            text = array_script(launches, job_name=job_name, directives=self._directives())
            self.connector.write_text(dispatcher, text, executable=True)

        await asyncio.to_thread(write_scripts)
        prefix = await self._hand_over(launches)
        submitted = time.time()
        ids = await self._oarsub(
            f"an array of {len(launches)} jobs (first: {launches[0].directory})",
            job_name,
            str(dispatcher),
            prefix,
            str(launches[0].directory),
        )
        if len(ids) != len(launches):
            raise OarSubmitError(f"oarsub gave {len(ids)} job ids for an array of {len(launches)} jobs: {ids}")
        # OAR numbers array jobs in submission order: the i-th id runs OAR_ARRAY_INDEX i.
        ids.sort(key=_numeric)
        return [owner._ref(launch, job_id, job_name, submitted) for (owner, launch), job_id in zip(entries, ids)]

    # ---- status --------------------------------------------------------------------------

    async def _oarstat(self, ids: Sequence[str]) -> dict[str, status.JobRow] | None:
        """Records of ``ids`` from as few oarstat calls as possible; None when oarstat failed."""
        cluster = self._cluster
        rows: dict[str, status.JobRow] = {}
        for start in range(0, len(ids), IDS_PER_QUERY):
            try:
                result = await cluster.run(status.oarstat_command(cluster.binpath, ids[start : start + IDS_PER_QUERY]))
            except TimeoutError:
                logger.warning("oarstat timed out: job states unknown for now")
                return None
            if result.returncode != 0:
                logger.warning("oarstat failed (%s): job states unknown for now", _last_line(result))
                return None
            try:
                rows.update(status.parse_oarstat(result.stdout))
            except ValueError as error:
                logger.warning("oarstat printed no JSON (%s): job states unknown for now", error)
                return None
        return rows

    async def poll(self, refs: Sequence[ProcessRef]) -> dict[str, ProcessState]:
        """States of ``refs``; polls of this cluster made at the same moment share one oarstat."""
        if not refs:
            return {}
        return await self._cluster.polls.add(None, (self, refs))

    async def _query_states(self, refs: Sequence[ProcessRef]) -> dict[str, ProcessState]:
        """States of ``refs`` from one oarstat call (one more when OAR resubmitted some of them)."""
        cluster = self._cluster
        rows: dict[str, status.JobRow] = {}
        # Only OAR job ids are asked for: one malformed id (a damaged NAME.pid) would make
        # oarstat fail for every job; it stays unknown alone.
        wanted = sorted({cluster.current_id(ref.id) for ref in refs if ref.id.isdigit()}, key=_numeric)
        # A besteffort + idempotent job killed by OAR comes back under a new id, named in the old
        # job's events: follow it with one more query (bounded: OAR may resubmit it again).
        for _ in range(5):
            found = await self._oarstat(wanted)
            if found is None:
                break
            rows.update(found)
            moved = {row.id: row.resubmitted_as for row in found.values() if row.resubmitted_as}
            cluster.resubmitted.update(moved)
            wanted = sorted({cluster.current_id(ref.id) for ref in refs if ref.id.isdigit()} - set(rows), key=_numeric)
            if not (moved and wanted):
                break
        states: dict[str, ProcessState] = {}
        for ref in refs:
            row = rows.get(cluster.current_id(ref.id))
            # Not visible yet, or oarstat did not answer: unknown, never "failed".
            states[ref.id] = ProcessState(ProcessStatus.UNKNOWN) if row is None else status.state_of(row)
        return states

    # ---- cancel ----------------------------------------------------------------------------

    async def cancel(self, ref: ProcessRef) -> None:
        cluster = self._cluster
        prefix = await cluster.submitter()
        job_id = cluster.current_id(ref.id)
        result = await cluster.run([*prefix, cluster.command("oardel"), job_id])
        if result.returncode != 0 and not _ALREADY_ENDED.search(result.stdout + result.stderr):
            raise CommandError(f"oardel {job_id}", result)

    @classmethod
    def for_process(cls, ref: ProcessRef, registry: PluginRegistry) -> OarLauncher:
        """A launcher following ``ref`` (from ``NAME.pid``) through the same connector and commands."""
        options = dict(ref.connector)
        connector = registry.connectors()[options.pop("name", "local")].create(**options)
        settings = {key: ref.details[key] for key in _REATTACH_SETTINGS if key in ref.details}
        return cls(connector, **settings)


def _numeric(job_id: str) -> tuple[int, str]:
    """Sorts OAR job ids by number (a malformed id from a damaged NAME.pid sorts, it does not raise)."""
    return (len(job_id), job_id)


def _last_line(result: CommandResult) -> str:
    lines = (result.stderr or result.stdout).strip().splitlines()
    return f"exit code {result.returncode}: {lines[-1] if lines else 'no output'}"
