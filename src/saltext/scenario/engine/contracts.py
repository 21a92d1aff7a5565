"""The typed shapes that cross the engine's stages: execution events, the run's return data and
the journal record. Execution emits the events; every reporter (the return, progress lines,
bus events, the journal, the report files) is built from them, so these are the contract.

They are TypedDicts, not classes: events go onto the Salt bus and records into JSON as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, Protocol, TypedDict

Status = Literal["passed", "failed", "interrupted", "skipped"]
# How a host's verdict reason starts when a stop cut its step short (its job killed after the
# stop grace, or at once on a second signal): reports show that host as interrupted.
INTERRUPTED_MID_STEP = "interrupted mid-step"


# -- seams: what the engine asks of the master's fileserver and of the fleet ---------------------
class FeatureSource(Protocol):
    """Where features and step libraries are read (the master's fileserver, or a directory)."""

    def read(self, path: str) -> bytes: ...

    def list(self, prefix: str) -> list[str]: ...


class HostFinder(Protocol):
    """What discovery asks of the transport: who the master expects, and who answers."""

    def expected(self, target: str) -> Iterable[str]: ...

    def ping(self, target: str) -> Iterable[str]: ...


# A batch size or a failure budget: ("n", 2) hosts or ("percent", 10) of the pinned hosts.
Size = tuple[Literal["n", "percent"], int]
# A batch schedule: sizes in order, the last one repeating.
Schedule = tuple[Size, ...]
Phase = Literal["deploy", "rollback"]


class CallInfo(TypedDict, total=False):
    """What a step asked of each host (``SaltCall.as_dict``)."""

    fun: str
    args: list[Any]  # Salt arguments: any data a step library or a built-in step passes
    kwargs: dict[str, Any]
    within: int  # retried until this many seconds
    lb_effect: str  # "block" / "unblock": the step's declared effects, as reports show them
    rollback_of: str  # the package a rollback step restores
    on: str  # the minion the call runs on for the hosts (HAProxy)


class GateInfo(TypedDict):
    """An approval step (``ApprovalGate.as_dict``)."""

    approval: bool
    within: int  # seconds


class _PlannedStepBase(TypedDict):
    keyword: str
    text: str
    location: str
    call: CallInfo | None


class PlannedStep(_PlannedStepBase, total=False):
    """One step of the plan (``PlannedStep.as_dict``), run or not."""

    gate: GateInfo
    check: dict[str, object]  # a master-side step (a metric gate): what it asks and how it judges


class PlannedScenarioInfo(TypedDict):
    """One scenario of the plan as ``run_started`` carries it (and the journal keeps it)."""

    name: str
    location: str
    tags: list[str]
    on_failure: bool
    steps: list[PlannedStep]


class _HostVerdictBase(TypedDict):
    ok: bool
    reason: str | None
    ret: object  # the host's return (not put on the bus)


class HostVerdict(_HostVerdictBase, total=False):
    """One host's verdict on one step, as execution judged it; plus ``summary``, a short
    report line, when the step has one (state steps: "2 states, 1 changed")."""

    summary: str


class RunStarted(TypedDict):
    event: Literal["run_started"]
    run_id: str
    name: str
    feature: str
    uri: str
    target: str
    feature_line: int
    feature_description: str
    feature_tags: list[str]
    pinned: list[str]
    batches: list[list[str]]
    scenarios: list[str]
    plan: list[PlannedScenarioInfo]  # every step, run or not: a report of a run that dies
    allowed_failures: int
    feature_sha256: str
    deploy_steps: int  # steps that ask hosts something, per batch


class StepStarted(TypedDict):
    """Before a step's (or a fused group's) publish: a listener that must succeed may refuse it."""

    event: Literal["step_started"]
    run_id: str
    phase: str  # "deploy" / "rollback"
    batch: int  # -1 in the rollback
    scenario: int
    scenario_name: str
    step: int  # the first step of the group
    keyword: str
    text: str
    location: str  # file:line of the first step
    hosts: list[str]  # the hosts the publish goes to
    effects: Mapping[str, object]  # the group's declared effects (steps/effects.py), e.g. {"leaves_balancer": True}
    steps: list[dict[str, object]]  # per step of the group: step, location, effects


class RecordedStep(TypedDict):
    """What the recorder, the reports and the journal read of a ``step_finished`` event; a
    journal record's ``batch_steps`` replay as these (with no per-host returns)."""

    phase: Phase
    batch: int  # -1 for the rollback
    scenario: int
    scenario_name: str
    step: int
    keyword: str
    text: str
    location: str  # file:line
    status: Status
    hosts_in_batch: list[str]
    results: dict[str, HostVerdict]
    jids: list[str]
    duration: float
    call: CallInfo | None  # None for Given steps, which only shape the run


class _StepEffects(TypedDict, total=False):
    # NotRequired is Python 3.11's: optional keys come from a total=False base (3.10 runs this).
    effects: Mapping[str, object]  # what passing it means for the fleet (steps/effects.py)


class StepFinished(RecordedStep, _StepEffects):
    event: Literal["step_finished"]
    run_id: str
    passed: list[str]
    failed: list[str]


class BatchStarted(TypedDict):
    event: Literal["batch_started"]
    run_id: str
    batch: int
    count: int
    hosts: list[str]
    elapsed: float


class BatchSkipped(TypedDict):
    event: Literal["batch_skipped"]
    run_id: str
    batch: int
    hosts: list[str]
    reason: str  # "halted", "interrupted", or why a resumed run does not touch it again


class ApprovalWanted(TypedDict):
    event: Literal["approval_wanted"]
    run_id: str
    batch: int
    hosts: list[str]
    hosts_so_far: list[str]
    timeout: int
    approve: str  # the command that approves
    abort: str


class ApprovalFinished(TypedDict):
    event: Literal["approval_finished"]
    run_id: str
    batch: int
    approved: bool
    user: str | None
    reason: str | None


class RollbackStarted(TypedDict):
    event: Literal["rollback_started"]
    run_id: str
    hosts: list[str]
    unreachable: list[str]


class RollbackFailure(TypedDict):
    step: str
    reason: str | None


class RollbackInfo(TypedDict):
    """How the @on-failure scenarios went: on whom, who came back, who did not."""

    hosts: list[str]
    rolled_back: list[str]
    failed: dict[str, RollbackFailure]
    unreachable: list[str]


class LeftHost(TypedDict):
    """A host that failed within the failure budget and left the run."""

    step: str
    location: str
    reason: str | None
    batch: int


class RunFinished(TypedDict):
    event: Literal["run_finished"]
    run_id: str
    retcode: int
    still_blocked: list[str]
    duration: float
    interrupted: str | None  # why (the signal), when the run was stopped
    halted: str | None  # where, when a failure halted the run
    left: dict[str, LeftHost]
    allowed_failures: int
    rollback: RollbackInfo | None
    replaced: dict[str, dict[str, Any]]  # host -> {package: the version this run replaced}


Event = (
    RunStarted
    | StepStarted
    | BatchStarted
    | StepFinished
    | BatchSkipped
    | ApprovalWanted
    | ApprovalFinished
    | RollbackStarted
    | RunFinished
)


class HostResult(TypedDict, total=False):
    """One host's line of a step in the run's return."""

    status: Status
    reason: str | None
    ret: object
    summary: str  # state steps: "2 states, 1 changed"


class _StepResultBase(TypedDict):
    keyword: str
    text: str
    location: str
    status: Status
    duration: float
    jids: list[str]
    call: CallInfo | None
    hosts: dict[str, HostResult]


class StepResult(_StepResultBase, total=False):
    gate: GateInfo  # approval steps
    check: dict[str, object]  # master-side steps (metric gates)


class _ScenarioResultBase(TypedDict):
    name: str
    location: str
    tags: list[str]
    status: Status
    steps: list[StepResult]


class ScenarioResult(_ScenarioResultBase, total=False):
    on_failure: bool  # an @on-failure scenario: its hosts are the rollback's


class FailedHost(TypedDict):
    step: str  # "When I update the package mywebapp"
    location: str
    reason: str | None


class ApprovalRecord(TypedDict):
    batch: int | None
    approved: bool | None
    user: str | None
    reason: str | None


class RunReturn(TypedDict, total=False):
    """What ``scenario.run`` returns: for a run that executed (``result`` passed/failed...),
    and, with ``error``, for one that could not start."""

    retcode: int
    result: str
    error: str
    name: str | None
    feature: str
    uri: str
    run_id: str | None
    target: str
    pinned: list[str]
    batches: list[list[str]]
    scenarios: list[ScenarioResult]
    failed_hosts: dict[str, FailedHost]
    still_blocked: list[str]
    not_started: list[str]
    done_earlier: list[str]  # hosts of batches a resumed run found passed
    missing: list[str]
    duration: float
    warnings: list[str]
    summary: str
    # Copied from run_finished when set (so never None here; the type is run_finished's).
    interrupted: str | None
    halted: str | None
    allowed_failures: int
    rollback: RollbackInfo
    approvals: list[ApprovalRecord]
    reports: dict[str, str]  # cucumber_json, junit_xml, html: paths under report_dir
    streamed: bool  # set by the runner when salt-run printed every step as it finished
    # Holds (engine/store/): pinned hosts exclude_held left out (held by other runs), the hosts
    # this run holds at its end, and, on a refusal (exit 4), the holds that refused it.
    held: list[str]
    holds: list[str]
    held_by: list[dict[str, Any]]


class StepHost(TypedDict):
    """One host's verdict in the journal: no return, which may be large."""

    status: Status | None
    reason: str | None


class CompactStep(TypedDict):
    """A step event as the journal keeps it (``batch_steps``): per batch, for reports and resume."""

    phase: Phase
    batch: int
    scenario: int
    scenario_name: str | None
    step: int
    keyword: str
    text: str
    location: str
    status: Status
    duration: float | None
    jids: list[str]
    call: CallInfo | None
    hosts_in_batch: list[str]
    hosts: dict[str, StepHost]


class _JournalStepBase(TypedDict):
    scenario: str | None
    keyword: str
    text: str
    location: str
    status: Status
    duration: float | None
    jids: list[str]
    call: CallInfo | None
    hosts: dict[str, StepHost]


class JournalStep(_JournalStepBase, total=False):
    batch: int  # only in records of runs that aborted before a return was collected
    on_failure: bool


class Position(TypedDict):
    """The last finished (or skipped) step of a run: where one that died stopped."""

    phase: Phase | None
    batch: int | None
    scenario_name: str | None
    keyword: str | None
    text: str | None
    location: str | None
    status: Status | None


class _JournalRecordBase(TypedDict):
    v: int
    run_id: str
    state: str  # running / finished (interrupted: shown so, never written)
    name: str | None
    uri: str | None
    feature: str | None
    feature_sha256: str | None
    started: str  # UTC, ISO 8601
    finished: str | None
    user: str | None
    runner_jid: str | None
    pid: int | None
    args: dict[str, Any]  # the run's arguments, as resume needs them
    resumes: str | None  # the run id this run resumed
    retcode: int | None
    result: str | None
    error: str | None
    target: str | None
    pinned: list[str]
    batches: list[list[str]]
    done_batches: dict[str, str]  # batch index (as text) -> why a resume leaves it alone
    plan: list[PlannedScenarioInfo]
    feature_line: int | None
    feature_description: str | None
    feature_tags: list[str]
    steps: list[JournalStep]
    batch_steps: list[CompactStep]
    position: Position | None
    failed_hosts: dict[str, FailedHost]
    still_blocked: list[str]
    not_started: list[str]
    left: dict[str, LeftHost]
    rollback: RollbackInfo | None
    replaced: dict[str, dict[str, Any]]
    approvals: list[ApprovalRecord]
    waiting: ApprovalWanted | None
    duration: float | None
    reports: dict[str, str] | None
    summary: str


class JournalRecord(_JournalRecordBase, total=False):
    """One run in the journal (``scenario.history`` / ``scenario.show``)."""

    interrupted: str | None  # copied from the return when set
    halted: str | None
    held: list[str]  # pinned hosts exclude_held left out: held by other runs
    holds: list[str]  # the hosts this run held at its end
    held_by: list[dict[str, Any]]  # a refusal (exit 4): the holds that refused it
    warnings: list[str]  # what the run's webhooks could not be told (scenario_notify)
