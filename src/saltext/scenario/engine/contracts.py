"""The typed shapes that cross the engine's stages: execution events, the run's return data and
the journal record. Execution emits the events; every reporter (the return, progress lines,
bus events, the journal, the report files) is built from them, so these are the contract.

They are TypedDicts, not classes: events go onto the Salt bus and records into JSON as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, NotRequired, TypedDict

Status = Literal["passed", "failed", "skipped"]


class CallInfo(TypedDict, total=False):
    """What a step asked of each host (``SaltCall.as_dict``)."""

    fun: str
    args: list
    kwargs: dict
    within: int  # retried until this many seconds
    lb_effect: str  # "block" / "unblock": the step's declared effects, as reports show them
    rollback_of: str  # the package a rollback step restores
    on: str  # the minion the call runs on for the hosts (HAProxy)


class HostVerdict(TypedDict):
    """One host's verdict on one step, as execution judged it; plus ``summary`` (str), a short
    report line, when the step has one (state steps: "2 states, 1 changed")."""

    ok: bool
    reason: str | None
    ret: object  # the host's return (not put on the bus)
    summary: NotRequired[str]


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


class StepFinished(TypedDict):
    event: Literal["step_finished"]
    run_id: str
    phase: NotRequired[str]  # "deploy" / "rollback"
    batch: int
    scenario: int
    scenario_name: str
    step: int
    keyword: str
    text: str
    location: str  # file:line
    status: Status
    hosts_in_batch: list[str]
    results: dict[str, HostVerdict]
    passed: list[str]
    failed: list[str]
    jids: list[str]
    duration: float
    call: CallInfo | None  # None for Given steps, which only shape the run
    effects: NotRequired[Mapping[str, object]]  # what passing it means for the fleet (steps/effects.py)


class BatchSkipped(TypedDict):
    event: Literal["batch_skipped"]
    run_id: str
    batch: int
    hosts: list[str]


class RunFinished(TypedDict):
    event: Literal["run_finished"]
    run_id: str
    retcode: int
    still_blocked: list[str]
    duration: float


Event = RunStarted | StepStarted | StepFinished | BatchSkipped | RunFinished


class HostResult(TypedDict, total=False):
    """One host's line of a step in the run's return."""

    status: Status
    reason: str | None
    ret: object
    summary: str  # state steps: "2 states, 1 changed"


class StepResult(TypedDict):
    keyword: str
    text: str
    location: str
    status: Status
    duration: float
    jids: list[str]
    call: CallInfo | None
    hosts: dict[str, HostResult]


class ScenarioResult(TypedDict):
    name: str
    location: str
    tags: list[str]
    status: Status
    steps: list[StepResult]


class FailedHost(TypedDict):
    step: str  # "When I update the package mywebapp"
    location: str
    reason: str | None


class RunReturn(TypedDict, total=False):
    """What ``scenario.run`` returns for a run that executed (``result`` passed/failed)."""

    retcode: int
    result: str
    name: str
    feature: str
    uri: str
    run_id: str
    target: str
    pinned: list[str]
    batches: list[list[str]]
    scenarios: list[ScenarioResult]
    failed_hosts: dict[str, FailedHost]
    still_blocked: list[str]
    not_started: list[str]
    missing: list[str]
    duration: float
    warnings: list[str]
    summary: str
    reports: dict[str, str]  # cucumber_json, junit_xml, html: paths under report_dir
    streamed: bool  # set by the runner when salt-run printed every step as it finished


class JournalStep(StepResult, total=False):
    scenario: str
    batch: int  # only in records of runs that aborted before a return was collected


class JournalRecord(TypedDict):
    """One run in the journal (``scenario.history`` / ``scenario.show``)."""

    v: int
    run_id: str
    name: str | None
    uri: str | None
    feature: str | None
    started: str  # UTC, ISO 8601
    finished: str | None
    user: str | None
    runner_jid: str | None
    retcode: int | None
    result: str | None
    error: str | None
    target: str | None
    pinned: list[str]
    batches: list[list[str]]
    steps: list[JournalStep]
    failed_hosts: dict[str, FailedHost]
    still_blocked: list[str]
    not_started: list[str]
    duration: float | None
    reports: dict[str, str] | None
    summary: str
