"""Who is making the changes being recorded: a person, through the app or the admin, or a run
(a Klaviyo sync, an upload). Requests set it in the middleware, runs around their work; anything
else (a shell, a management command) is "command line"."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

VIA_ADMIN = "admin"
VIA_COMMAND_LINE = "command line"
RUN_SYNC = "sync"
RUN_UPLOAD = "upload"


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int | None = None
    user_name: str = ""
    via: str = ""  # "", "admin", "command line", "Klaviyo sync #41", "Upload #12 (file.csv)"
    run_kind: str = ""  # "", "sync", "upload"
    run_id: int | None = None


COMMAND_LINE = Actor(via=VIA_COMMAND_LINE)
_current: ContextVar[Actor | None] = ContextVar("history_actor", default=None)


def current_actor() -> Actor:
    return _current.get() or COMMAND_LINE


def user_actor(user, *, via: str = "", run_kind: str = "", run_id: int | None = None) -> Actor:
    """The actor for a user (None or anonymous: nobody, only `via`)."""
    if user is not None and getattr(user, "is_authenticated", False):
        return Actor(user.pk, user.get_username(), via, run_kind, run_id)
    return Actor(None, "", via, run_kind, run_id)


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def run_actor(*, kind: str, run_id: int, label: str, user=None) -> Actor:
    """A run's actor: `label` ("Klaviyo sync #41") and the person who started it, if any."""
    return user_actor(user, via=label, run_kind=kind, run_id=run_id)
