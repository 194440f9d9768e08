"""Counting the members of Klaviyo segments and lists (sizes): every write of a size count run.

Klaviyo's limits decide the pace: segments are counted 100 at a time by the segment values
report (1 a second, 2 a minute, 225 a day), lists one at a time (1 a second, 15 a minute). A
run is a series of steps. Each step makes the calls that are due, writes what they counted at
once (with its own counted-at time, through segments.bulk) and returns when the next step is
due; the task queue runs it then (`run_after`). A worker never sleeps through a limit, so
uploads and syncs are never stuck behind a count.

Faults: a 429 moves that kind of call to when Klaviyo says (the daily cap: to midnight UTC, then
hourly); 5xx, timeouts and unreadable answers are retried with backoff a few times; a rejected
key or a missing scope ends the run; a list Klaviyo no longer has (404), or a segment the report
does not answer for, gets no size. Whatever was counted before a failure stays counted.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from channels_app.models import Channel
from integrations.klaviyo.client import (
    REPORT_MAX_IDS,
    KlaviyoAuthError,
    KlaviyoBadResponse,
    KlaviyoBlocked,
    KlaviyoClient,
    KlaviyoError,
    KlaviyoNotFound,
    KlaviyoScopeError,
    KlaviyoServerError,
    KlaviyoThrottled,
    KlaviyoUnreachable,
)
from integrations.klaviyo.models import SizeRun, SizeRunChannel
from integrations.klaviyo.services import NotConnected, klaviyo_api_key
from segments.bulk import Outcome, SegmentRow, segment_bulk_upsert
from segments.models import Segment

logger = logging.getLogger(__name__)

# Klaviyo's steady limits, as spacing between calls (the 1-a-second burst limit is then met).
REPORT_EVERY = timedelta(seconds=30)  # 2 a minute
LIST_EVERY = timedelta(seconds=4)  # 15 a minute
DAILY_RETRY_EVERY = timedelta(hours=1)
FAILURE_BACKOFF = timedelta(seconds=15)  # doubled per consecutive failure
MAX_FAILURES = 5
STEP_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds for one call
TRANSIENT = (KlaviyoServerError, KlaviyoUnreachable, KlaviyoBadResponse, KlaviyoBlocked)


class SizesAlreadyRunning(Exception):
    def __init__(self, run: SizeRun | None):
        super().__init__("Sizes are already being counted for this channel.")
        self.run = run


def size_runs_fail_stale(*, now: datetime | None = None) -> int:
    """Fail active runs whose next step is long overdue; frees their channels."""
    now = now or timezone.now()
    stale = [
        run.pk for run in SizeRun.objects.filter(status__in=SizeRun.ACTIVE_STATUSES) if run.is_stale
    ]
    for run_id in stale:
        _finish(
            run_id,
            now=now,
            kind="unexpected",
            error=SizeRun.STALE_ERROR,
        )
    return len(stale)


def _klaviyo_segments(channels: list[Channel]):
    return (
        Segment.objects.filter(channel__in=channels, is_active=True)
        .exclude(external_id="")
        .exclude(kind="")
    )


@transaction.atomic
def size_run_create(
    *,
    channels: list[Channel],
    user: AbstractBaseUser | None = None,
    trigger: str = SizeRun.Trigger.USER,
) -> SizeRun:
    """Queue a size count for these channels' active Klaviyo segments and lists.

    Raises NotConnected and SizesAlreadyRunning (one count per channel at a time: the database
    decides).
    """
    if not channels:
        raise ValueError("A size count needs at least one channel.")
    klaviyo_api_key()
    size_runs_fail_stale()
    ids: dict[str, set[str]] = {Segment.Kind.SEGMENT: set(), Segment.Kind.LIST: set()}
    for external_id, kind in _klaviyo_segments(channels).values_list("external_id", "kind"):
        ids.setdefault(kind, set()).add(external_id)
    try:
        with transaction.atomic():
            run = SizeRun.objects.create(
                trigger=trigger,
                started_by=user if user is not None and user.is_authenticated else None,
                segment_ids=sorted(ids[Segment.Kind.SEGMENT]),
                list_ids=sorted(ids[Segment.Kind.LIST]),
            )
            SizeRunChannel.objects.bulk_create(
                [SizeRunChannel(run=run, channel=channel) for channel in channels]
            )
    except IntegrityError:
        running = SizeRun.objects.filter(
            results__channel__in=channels, results__in_progress=True
        ).first()
        raise SizesAlreadyRunning(running) from None
    return run


def size_run_not_queued(*, run: SizeRun) -> SizeRun:
    """The run's next step could not be queued: end it, keeping what was counted."""
    _finish(run.pk, kind="unexpected", error="The size count could not be queued; try again.")
    run.refresh_from_db()
    return run


@dataclass(frozen=True)
class NextStep:
    at: datetime
    step: int


def size_run_step(*, run_id: int, step: int = 0, now: datetime | None = None) -> NextStep | None:
    """Make the calls that are due, write their counts, and say when the next step is due
    (None: the run has ended, or this step is not the run's current one: a duplicate).

    Each scheduled step has a number; only the current one runs, so a task queued twice never
    starts a second chain of steps.
    """
    now = now or timezone.now()
    claimed = (
        SizeRun.objects.filter(pk=run_id, step=step, status__in=SizeRun.ACTIVE_STATUSES)
        .exclude(status=SizeRun.Status.RUNNING)
        .update(
            status=SizeRun.Status.RUNNING,
            started_at=Coalesce(F("started_at"), now),
            heartbeat_at=now,
        )
    )
    if not claimed:
        return None
    run = SizeRun.objects.get(pk=run_id)
    step = _Step(run, now)
    try:
        with KlaviyoClient(klaviyo_api_key(), wait_budget=0.0, timeout=STEP_TIMEOUT) as client:
            step.client = client
            if step.segments_due():
                step.call("report", step.count_segments)
            if step.lists_due():
                step.call("list", step.count_list)
    except NotConnected as error:
        return _end(run, now, error=str(error), kind="no_key")
    except (KlaviyoAuthError, KlaviyoScopeError) as error:
        return _end(run, now, error=f"{error} Sizes counted before that are kept.", kind="key")
    except KlaviyoError as error:
        return _end(run, now, error=f"{error} Sizes counted before that are kept.", kind="klaviyo")
    except Exception as error:
        logger.exception("Klaviyo size count %s failed", run_id)
        return _end(
            run, now, error=f"Unexpected error ({type(error).__name__}); see the server log."
        )
    if run.segments_done >= run.segments_total and run.lists_done >= run.lists_total:
        return _end(run, now)
    run.next_step_at = min(
        t
        for t, left in (
            (run.next_report_at or now, run.segments_done < run.segments_total),
            (run.next_list_at or now, run.lists_done < run.lists_total),
        )
        if left
    )
    run.status = SizeRun.Status.WAITING
    run.heartbeat_at = now
    run.step += 1
    if not _save_progress(run):
        return None  # failed as stale meanwhile: that stands
    return NextStep(at=run.next_step_at, step=run.step)


def _save_progress(run: SizeRun) -> bool:
    """Store where the run is, unless it stopped being this step's (failed as stale)."""
    fields = {name: getattr(run, name) for name in _PROGRESS_FIELDS}
    return bool(SizeRun.objects.filter(pk=run.pk, status=SizeRun.Status.RUNNING).update(**fields))


_PROGRESS_FIELDS = [
    "status",
    "step",
    "heartbeat_at",
    "segments_done",
    "lists_done",
    "next_report_at",
    "next_list_at",
    "next_step_at",
    "reports_made",
    "lists_requested",
    "failures",
    "daily_cap_hit",
    "waiting_reason",
]


def _end(run: SizeRun, now: datetime, *, error: str = "", kind: str = "") -> None:
    run.heartbeat_at = now
    run.next_step_at = None
    if _save_progress(run):
        _finish(run.pk, now=now, error=error, kind=kind)
    return None


def _finish(run_id: int, *, now: datetime | None = None, error: str = "", kind: str = "") -> None:
    now = now or timezone.now()
    with transaction.atomic():
        SizeRun.objects.filter(pk=run_id, status__in=SizeRun.ACTIVE_STATUSES).update(
            status=SizeRun.Status.FAILED if error else SizeRun.Status.SUCCEEDED,
            error=error,
            error_kind=(kind or "unexpected") if error else "",
            finished_at=now,
            heartbeat_at=now,
            next_step_at=None,
            waiting_reason="",
        )
        SizeRunChannel.objects.filter(run_id=run_id).update(in_progress=False)


def next_midnight_utc(now: datetime) -> datetime:
    day = now.astimezone(UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class _Step:
    def __init__(self, run: SizeRun, now: datetime):
        self.run, self.now = run, now
        self.client: KlaviyoClient
        self.channels = list(run.results.select_related("channel"))

    def segments_due(self) -> bool:
        run = self.run
        return run.segments_done < run.segments_total and (
            run.next_report_at is None or run.next_report_at <= self.now
        )

    def lists_due(self) -> bool:
        run = self.run
        return run.lists_done < run.lists_total and (
            run.next_list_at is None or run.next_list_at <= self.now
        )

    def call(self, what: str, count) -> None:
        """One call of a kind, with its pace and its faults; auth and scope errors propagate."""
        run, now = self.run, self.now
        attr = "next_report_at" if what == "report" else "next_list_at"
        spacing = REPORT_EVERY if what == "report" else LIST_EVERY
        try:
            count()
        except KlaviyoThrottled as error:
            if error.daily and what == "report":
                # The account's time zone is unknown: midnight UTC at the earliest, then hourly.
                retry = now + DAILY_RETRY_EVERY if run.daily_cap_hit else next_midnight_utc(now)
                run.daily_cap_hit = True
                setattr(run, attr, retry)
                run.waiting_reason = (
                    f"Klaviyo's daily limit for segment counts is reached: "
                    f"{run.segments_done:,} of {run.segments_total:,} segments counted; "
                    f"the rest will be counted from {getattr(run, attr):%-d %b %H:%M} UTC."
                )
            else:
                wait = timedelta(seconds=max(1.0, error.retry_after or spacing.total_seconds()))
                setattr(run, attr, now + max(wait, spacing))
            return
        except TRANSIENT as error:
            run.failures += 1
            if run.failures > MAX_FAILURES:
                raise KlaviyoServerError(
                    f"{error} Stopped after {MAX_FAILURES} tries in a row."
                ) from None
            logger.warning("Klaviyo size count %s: %s; trying again later", run.pk, error)
            # Never sooner than the pace: a failed call still counts against the limits.
            setattr(run, attr, now + max(spacing, FAILURE_BACKOFF * 2 ** (run.failures - 1)))
            run.waiting_reason = f"{error} Trying again shortly."
            return
        run.failures = 0
        if what == "report":
            run.daily_cap_hit = False
        if not run.daily_cap_hit:
            run.waiting_reason = ""
        setattr(run, attr, now + spacing)

    def count_segments(self) -> None:
        run = self.run
        ids = run.segment_ids[run.segments_done : run.segments_done + REPORT_MAX_IDS]
        run.reports_made += 1
        sizes = self.client.segment_sizes(ids)
        self.write(ids, sizes)
        run.segments_done += len(ids)

    def count_list(self) -> None:
        run = self.run
        list_id = run.list_ids[run.lists_done]
        run.lists_requested += 1
        try:
            sizes = {list_id: self.client.list_size(list_id)}
        except KlaviyoNotFound:
            sizes = {}
        self.write([list_id], sizes)
        run.lists_done += 1

    def write(self, ids: list[str], sizes: dict[str, int | None]) -> None:
        """Each channel's segments with these ids get their count now (an id Klaviyo did not
        answer for: no size, not a stale one). A repeated step writes the same figures again,
        which adds no history point."""
        with transaction.atomic():
            for result in self.channels:
                tally = {"counted": 0, "cleared": 0}

                def heard(row: SegmentRow, outcome: Outcome, changes, tally=tally) -> None:
                    if outcome in (Outcome.UPDATED, Outcome.UNCHANGED):
                        tally["cleared" if row.clear_size else "counted"] += 1

                rows = [
                    SegmentRow(
                        name=name,
                        external_id=external_id,
                        size=sizes.get(external_id),
                        size_source=Segment.SizeSource.KLAVIYO,
                        size_counted_at=self.now,
                        clear_size=sizes.get(external_id) is None,
                    )
                    for name, external_id in _klaviyo_segments([result.channel])
                    .filter(external_id__in=ids)
                    .values_list("name", "external_id")
                ]
                segment_bulk_upsert(
                    channel=result.channel,
                    rows=rows,
                    source=Segment.Source.KLAVIYO,
                    sizes_only=True,
                    keep_inactive=True,
                    skip_invalid=True,
                    now=self.now,
                    on_outcome=heard,
                )
                if any(tally.values()):
                    SizeRunChannel.objects.filter(pk=result.pk).update(
                        counted=F("counted") + tally["counted"],
                        cleared=F("cleared") + tally["cleared"],
                    )


# -- what the pages say --------------------------------------------------------------------------


@dataclass(frozen=True)
class SizeProgress:
    counted: int
    total: int
    time_left: timedelta | None  # None: unknown (waiting for the daily cap)
    resumes_at: datetime | None  # the daily cap: when the rest will be counted


def size_run_progress(run: SizeRun, *, now: datetime | None = None) -> SizeProgress:
    """How far the run is and an honest time left: the calls still to make at Klaviyo's pace
    (segment reports and list counts go side by side), from when each may next be made."""
    now = now or timezone.now()
    reports_left = math.ceil(max(0, run.segments_total - run.segments_done) / REPORT_MAX_IDS)
    lists_left = max(0, run.lists_total - run.lists_done)

    def finish(calls: int, next_at: datetime | None, spacing: timedelta) -> timedelta:
        if not calls:
            return timedelta(0)
        start = max(timedelta(0), (next_at or now) - now)
        return start + spacing * (calls - 1)

    left = max(
        finish(reports_left, run.next_report_at, REPORT_EVERY),
        finish(lists_left, run.next_list_at, LIST_EVERY),
    )
    return SizeProgress(
        counted=run.segments_done + run.lists_done,
        total=run.segments_total + run.lists_total,
        time_left=None if run.daily_cap_hit else left,
        resumes_at=run.next_report_at if run.daily_cap_hit else None,
    )


def time_left_words(progress: SizeProgress) -> str:
    """ "about 34 minutes left", "less than a minute left", or when the rest will be counted."""
    if progress.resumes_at is not None:
        return f"the rest from {progress.resumes_at:%-d %b %H:%M} UTC"
    seconds = progress.time_left.total_seconds() if progress.time_left else 0
    if seconds < 60:
        return "less than a minute left"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"about {minutes} minute{'s' if minutes != 1 else ''} left"
    return f"about {round(minutes / 60)} hours left"
