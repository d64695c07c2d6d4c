"""``SlurmLauncher``: sbatch submission (alone or as arrays), sacct/squeue polling, scancel."""

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
)
from xpm_slurm import status
from xpm_slurm.options import SlurmOptions
from xpm_slurm.script import array_script, job_script, script_path
from xpm_slurm.settings import SlurmSettings
from xpm_slurm.submission import SubmitLimitReached, SubmitPolicy, SubmitThrottle

if TYPE_CHECKING:
    from xpm_core.plugin import Connector, PluginRegistry

logger = logging.getLogger("xpm.slurm")

#: Job ids per sacct/squeue call: keeps command lines short; with arrays (one id per array)
#: a single call covers tens of thousands of jobs.
IDS_PER_QUERY = 1000
#: Slurm's own default MaxArraySize (1001, i.e. task indexes 0 to 1000).
DEFAULT_MAX_ARRAY_SIZE = 1001

_ACCOUNTING_DISABLED = re.compile(r"accounting storage is disabled", re.IGNORECASE)
_UNKNOWN_JOB = re.compile(r"Invalid job id specified", re.IGNORECASE)
_ALREADY_ENDED = re.compile(r"already completing or completed|Invalid job id", re.IGNORECASE)
#: Settings recorded in NAME.pid and restored on re-attach (``for_process``).
_REATTACH_SETTINGS = ("binpath", "poll_interval", "accounting")
_MAX_ARRAY_SIZE = re.compile(r"^\s*MaxArraySize\s*=\s*(\d+)", re.MULTILINE)
#: Seconds a poll waits for concurrent polls of the same cluster to share its query (the
#: scheduler checks each job's NAME.pid on its own when an experiment restarts).
POLL_WINDOW = 0.05

#: A job to submit, with the launcher (a ``config`` copy, with its own environment) it came to.
Entry = tuple["SlurmLauncher", JobLaunch]


class _Cluster:
    """What launcher copies of one cluster share: commands, submission pacing, what was learnt."""

    def __init__(self, connector: Connector, settings: SlurmSettings) -> None:
        self.connector = connector
        self.settings = settings
        self.binpath = settings.binpath.rstrip("/") + "/" if settings.binpath else ""
        self.throttle = SubmitThrottle(
            SubmitPolicy.from_settings(settings)
        )
        #: "sacct" or "squeue"; "auto" becomes "squeue" once sacct says accounting is disabled.
        self.accounting = settings.accounting
        self.max_array_size: int | None = None
        #: Jobs submitted one by one within array_window seconds, by sbatch options.
        self.submissions: Gatherer[Entry, ProcessRef] = Gatherer(settings.array_window, self._submit_batch)
        #: Concurrent polls of any launcher copy on this cluster.
        self.polls: Gatherer[tuple[SlurmLauncher, Sequence[ProcessRef]], dict[str, ProcessState]] = Gatherer(
            POLL_WINDOW, self._poll_batch
        )

    async def _submit_batch(self, key: Hashable, entries: list[Entry]) -> list[Outcome[ProcessRef]]:
        launcher = entries[0][0]
        return await launcher._submit_entries(entries)

    async def _poll_batch(
        self, key: Hashable, requests: list[tuple[SlurmLauncher, Sequence[ProcessRef]]]
    ) -> list[Outcome[dict[str, ProcessState]]]:
        launcher = requests[0][0]
        every = {ref.id: ref for _, refs in requests for ref in refs}
        states = await launcher._query_states(list(every.values()))
        return [{ref.id: states[ref.id] for ref in refs} for _, refs in requests]

    def command(self, name: str) -> str:
        return f"{self.binpath}{name}"

    async def run(self, args: Sequence[str], **kwargs: Any) -> CommandResult:
        """Run a Slurm command through the connector in a worker thread (the loop keeps going)."""
        try:
            return await asyncio.to_thread(
                self.connector.run, list(args), timeout=self.settings.command_timeout, **kwargs
            )
        except FileNotFoundError:
            raise FileNotFoundError(
                f"{args[0]} is not found on {self.connector.hostname}: is Slurm installed there? "
                "Set the slurm launcher's binpath to the folder of the Slurm commands"
            ) from None


class SlurmLauncher(Launcher):
    """Runs jobs on a Slurm cluster reached through a connector (local machine, SSH host).

    ``SlurmLauncher(connector, SlurmOptions(partition="gpu", time="4:00:00"), poll_interval=60)``;
    keywords are those of :class:`~xpm_slurm.settings.SlurmSettings` (the sbatch option ones
    are merged into ``options``).
    """

    name = "slurm"

    def __init__(
        self,
        connector: Connector | None = None,
        options: SlurmOptions | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(connector)
        unknown = sorted(set(settings) - {field.name for field in attrs.fields(SlurmSettings)})
        if unknown:
            known = ", ".join(field.name for field in attrs.fields(SlurmSettings))
            raise TypeError(
                f"unknown SlurmLauncher setting(s) {', '.join(map(repr, unknown))}; known: {known}"
            )
        option_values = {key: value for key, value in settings.items() if key in SlurmOptions.field_names()}
        self.settings = SlurmSettings(**settings)
        self.options = (options or SlurmOptions()).merge(**option_values)
        self.poll_interval = float(self.settings.poll_interval)
        self._cluster = _Cluster(self.connector, self.settings)

    @classmethod
    def from_settings(cls, settings: SlurmSettings, connector: Connector | None = None) -> SlurmLauncher:
        """The launcher described by a settings.yaml section."""
        return cls(connector, **attrs.asdict(settings))

    def __repr__(self) -> str:
        return f"SlurmLauncher({self.connector!r}, {self.options!r})"

    def config(self, **options: Any) -> SlurmLauncher:
        """A copy asking for other sbatch options (``launcher.config(gpus=1, time="1:00:00")``).

        The copy shares the connector, the submission pacing and the cluster facts learnt.
        """
        SlurmOptions.check_names(options)
        clone = copy.copy(self)
        clone.environ = dict(self.environ)
        clone.options = self.options.merge(**options)
        return clone

    @property
    def accounting(self) -> str:
        """How jobs are followed: ``sacct``, ``squeue``, or ``auto`` (sacct until accounting is off)."""
        return self._cluster.accounting

    @property
    def submit_retries(self) -> int:
        """How many refused submissions were retried (submit limits, time-outs)."""
        return self._cluster.throttle.retries

    # ---- submission ------------------------------------------------------------------------

    def _job_name(self, stem: str) -> str:
        # Unique per submission: tells this job from an older one with the same (reused) id,
        # and finds it again after an sbatch whose answer was lost.
        return f"xpm-{stem}-{secrets.token_hex(4)}"

    async def _sbatch(
        self, what: str, job_name: str, args: list[str], *, split_on_limit: bool = False, **kwargs: Any
    ) -> str:
        cluster = self._cluster
        lost_answer = False

        async def attempt() -> CommandResult:
            nonlocal lost_answer
            if lost_answer:
                # The last sbatch timed out: the controller may have queued the job anyway.
                # Adopt it rather than submit a second copy.
                found = await cluster.run(
                    [cluster.command("squeue"), "--noheader", "--format=%F", f"--name={job_name}"]
                )
                ids = found.stdout.split()
                if found.returncode == 0 and ids:
                    return CommandResult(0, ids[0], "")
            try:
                result = await cluster.run([cluster.command("sbatch"), "--parsable", *args], **kwargs)
            except TimeoutError:
                lost_answer = True
                raise
            lost_answer = "timed out" in result.stderr.lower()
            return result

        return await cluster.throttle.submit(what, attempt, split_on_limit=split_on_limit)

    def _ref(self, launch: JobLaunch, job_id: str, job_name: str, submitted: float) -> ProcessRef:
        # What a later driver needs to follow the job as this one would (for_process).
        details: dict[str, Any] = {
            "name": job_name,
            "submitted": submitted,
            "poll_interval": self.poll_interval,
            "accounting": self._cluster.accounting,
        }
        if self.settings.binpath:
            details["binpath"] = self.settings.binpath
        return self.process_ref(launch, job_id, **details)

    def _write_script(self, launch: JobLaunch, job_name: str) -> None:
        text = job_script(
            launch, job_name=job_name, sbatch_arguments=self.options.sbatch_arguments(), environ=self.environ
        )
        self.connector.write_text(script_path(launch), text, executable=True)

    async def submit(self, launch: JobLaunch) -> ProcessRef:
        """Submit one job; with arrays on, jobs submitted within ``array_window`` seconds form arrays."""
        if self.settings.arrays and self.settings.array_window > 0:
            key = tuple(self.options.sbatch_arguments())
            return await self._cluster.submissions.add(key, (self, launch))
        return await self._submit_single(launch)

    async def submit_many(self, launches: Sequence[JobLaunch]) -> list[ProcessRef]:
        """Submit several jobs: as job arrays (split at the cluster's MaxArraySize) unless disabled."""
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
        submitted = time.time()
        job_id = await self._sbatch(
            f"job {launch.name} in {launch.directory}", job_name, [script_path(launch)], cwd=launch.directory
        )
        return self._ref(launch, job_id, job_name, submitted)

    async def _submit_entries(self, entries: list[Entry]) -> list[Outcome[ProcessRef]]:
        """Submit jobs asking for the same sbatch options, as arrays of at most MaxArraySize tasks."""
        size = await self._array_size()
        chunks = [entries[start : start + size] for start in range(0, len(entries), size)]
        results = await asyncio.gather(
            *(self._submit_array(chunk) for chunk in chunks), return_exceptions=True
        )
        outcomes: list[Outcome[ProcessRef]] = []
        for chunk, result in zip(chunks, results):
            # A refused chunk fails its own jobs only.
            outcomes.extend([result] * len(chunk) if isinstance(result, BaseException) else result)
        return outcomes

    async def _array_size(self) -> int:
        """Most tasks per array: the smaller of the setting and the cluster's MaxArraySize."""
        cluster = self._cluster
        if cluster.max_array_size is None:
            result = await cluster.run([cluster.command("scontrol"), "show", "config"])
            match = _MAX_ARRAY_SIZE.search(result.stdout) if result.returncode == 0 else None
            # MaxArraySize is one more than the largest task index: indexes 0..N-1, N tasks.
            cluster.max_array_size = int(match.group(1)) if match else DEFAULT_MAX_ARRAY_SIZE
        limit = self.settings.max_array_size or cluster.max_array_size
        return max(1, min(limit, cluster.max_array_size))

    async def _submit_array(self, entries: list[Entry]) -> list[ProcessRef]:
        if len(entries) == 1:
            owner, launch = entries[0]
            return [await owner._submit_single(launch)]
        job_name = self._job_name("array")

        def write_scripts() -> None:
            # Each task runs its job's own NAME.sh, written by the launcher copy it came to
            # (its environment), with the array's name in it.
            for owner, launch in entries:
                owner._write_script(launch, job_name)

        await asyncio.to_thread(write_scripts)
        launches = [launch for _, launch in entries]
        array_range = f"0-{len(launches) - 1}"
        if self.settings.array_throttle:
            array_range += f"%{self.settings.array_throttle}"
        script = array_script(
            launches,
            job_name=job_name,
            sbatch_arguments=self.options.sbatch_arguments(),
            array_range=array_range,
        )
        submitted = time.time()
        try:
            # sbatch reads the dispatcher script from its standard input: it is not a file
            # anyone needs afterwards (Slurm keeps a copy: scontrol write batch_script ID).
            array_id = await self._sbatch(
                f"an array of {len(launches)} jobs (first: {launches[0].directory})",
                job_name,
                [],
                split_on_limit=True,
                cwd=launches[0].directory,
                input=script,
            )
        except SubmitLimitReached as refusal:
            # Every task counts against the submit limit, so this array may never fit: submit
            # it as two halves (down to lone jobs, which wait for the limit like any job).
            logger.warning("array of %d jobs refused (%s): submitting it in halves", len(entries), refusal)
            half = len(entries) // 2
            first, second = await asyncio.gather(
                self._submit_array(entries[:half]), self._submit_array(entries[half:])
            )
            return first + second
        return [
            owner._ref(launch, f"{array_id}_{index}", job_name, submitted)
            for index, (owner, launch) in enumerate(entries)
        ]

    # ---- status --------------------------------------------------------------------------

    async def _query(self, command: str, ids: list[str]) -> tuple[list[status.JobRow], CommandResult | None]:
        """Rows for ``ids`` from sacct or squeue, in as few calls as possible; the failed call if any."""
        cluster = self._cluster
        rows: list[status.JobRow] = []
        for start in range(0, len(ids), IDS_PER_QUERY):
            batch = ids[start : start + IDS_PER_QUERY]
            if command == "sacct":
                args, parse = status.sacct_command(cluster.binpath, batch), status.parse_sacct
            else:
                args, parse = status.squeue_command(cluster.binpath, batch), status.parse_squeue
            try:
                result = await cluster.run(args, env=status.TIME_ENV)
            except TimeoutError:
                return rows, CommandResult(124, "", f"{command} timed out")
            if result.returncode != 0:
                if command == "squeue" and _UNKNOWN_JOB.search(result.stderr):
                    continue  # none of these jobs is known to the controller any more
                return rows, result
            rows.extend(parse(result.stdout))
        return rows, None

    async def poll(self, refs: Sequence[ProcessRef]) -> dict[str, ProcessState]:
        """States of ``refs``; polls of this cluster made at the same moment share one query."""
        if not refs:
            return {}
        return await self._cluster.polls.add(None, (self, refs))

    async def _query_states(self, refs: Sequence[ProcessRef]) -> dict[str, ProcessState]:
        """States of ``refs`` from one sacct call (plus one squeue call for jobs sacct does not show yet)."""
        cluster = self._cluster
        expected = {
            ref.id: status.Expectation(ref.details.get("name"), ref.details.get("submitted")) for ref in refs
        }
        chosen: dict[str, status.JobRow] = {}
        sacct_answered = False
        if cluster.accounting != "squeue" and expected:
            rows, failure = await self._query("sacct", status.query_ids(expected))
            if failure is None:
                sacct_answered = True
                chosen = status.select(rows, expected)
            elif cluster.accounting == "auto" and _ACCOUNTING_DISABLED.search(
                failure.stderr + failure.stdout
            ):
                logger.info("Slurm accounting is disabled on this cluster: following jobs with squeue")
                cluster.accounting = "squeue"
            else:
                logger.warning("sacct failed (%s): asking squeue instead", status_error(failure))

        # Ask the controller about jobs sacct does not show yet, and about pending ones: slurmdbd
        # keeps the pending reason it first saw (PartitionConfig) while the controller has the
        # current one (PartitionTimeLimit). Still one squeue call per round, whatever the count.
        to_ask = {
            job_id: expectation
            for job_id, expectation in expected.items()
            if job_id not in chosen or status.state_of(chosen[job_id]).status is ProcessStatus.QUEUED
        }
        squeue_answered = False
        if to_ask:
            rows, failure = await self._query("squeue", status.query_ids(to_ask))
            if failure is None:
                squeue_answered = True
                for job_id, row in status.select(rows, to_ask).items():
                    if sacct_answered and row.state == "FAILED":
                        # squeue has no exit code; sacct will have it shortly.
                        continue
                    chosen[job_id] = row
            else:
                logger.warning("squeue failed (%s): job states unknown for now", status_error(failure))

        fatal = status.FATAL_PENDING_REASONS
        states: dict[str, ProcessState] = {}
        to_cancel: list[str] = []
        for job_id in expected:
            found = chosen.get(job_id)
            if found is not None:
                states[job_id] = status.state_of(found, fatal)
                if status.must_cancel(found, fatal):
                    to_cancel.append(job_id)
            elif cluster.accounting == "squeue" and squeue_answered:
                # Without accounting, a job the controller forgot has ended (MinJobAge passed);
                # how, only the job's marker files can tell.
                states[job_id] = ProcessState(ProcessStatus.FINISHED)
            else:
                # Not visible yet (slurmdbd lags behind the controller) or nobody answered.
                states[job_id] = ProcessState(ProcessStatus.UNKNOWN)
        if to_cancel:
            logger.warning("cancelling jobs that can never start: %s", ", ".join(to_cancel))
            try:
                await self._scancel(to_cancel)
            except (CommandError, TimeoutError) as error:
                # They are reported rejected all the same; a later poll cancels them again.
                logger.warning("could not cancel %s: %s", ", ".join(to_cancel), error)
        return states

    # ---- cancel ----------------------------------------------------------------------------

    async def _scancel(self, ids: list[str]) -> None:
        cluster = self._cluster
        result = await cluster.run([cluster.command("scancel"), *ids])
        if result.returncode != 0 and not _ALREADY_ENDED.search(result.stderr):
            raise CommandError(f"scancel {' '.join(ids)}", result)

    async def cancel(self, ref: ProcessRef) -> None:
        await self._scancel([ref.id])

    @classmethod
    def for_process(cls, ref: ProcessRef, registry: PluginRegistry) -> SlurmLauncher:
        """A launcher following ``ref`` (from ``NAME.pid``) through the same connector and commands."""
        options = dict(ref.connector)
        connector = registry.connectors()[options.pop("name", "local")].create(**options)
        settings = {key: ref.details[key] for key in _REATTACH_SETTINGS if key in ref.details}
        return cls(connector, **settings)


def status_error(result: CommandResult) -> str:
    """A command's last error line, for log messages."""
    lines = (result.stderr or result.stdout).strip().splitlines()
    return f"exit code {result.returncode}: {lines[-1] if lines else 'no output'}"
