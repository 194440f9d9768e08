"""What the app does when the database connection breaks under it (a restart, a failover, a
terminated backend): the request or task in progress fails cleanly, and the next one reconnects.

Only a lost connection (or a server that cannot take one) is "the database is not answering":
an OperationalError can also be a bad search expression, a lock timeout or a statement the
database refused, which are bugs or the caller's to handle, never a reason to say "try again".
"""

import sqlite3

from django.db import InterfaceError, OperationalError, connections

# The errors a lost connection may raise: catch these, then ask `is_connection_lost`.
CONNECTION_ERRORS = (OperationalError, InterfaceError)

# PostgreSQL SQLSTATEs of a connection that is gone or refused: class 08 (connection
# exception), the server shutting down or starting (57P01-57P03), too many connections.
_PG_LOST_STATES = {"57P01", "57P02", "57P03", "53300"}
# SQLite's messages for a database file that cannot be reached or is held by another writer.
_SQLITE_LOST = ("unable to open database file", "disk i/o error", "database is locked")


def is_connection_lost(error: BaseException | None) -> bool:
    """True when `error` means the database went away or cannot be reached right now."""
    if isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__ or error
    if isinstance(cause, sqlite3.Error) or cause is error:
        # SQLite's errors (and one raised without a driver's) say what happened in words.
        message = str(cause).lower()
        return any(text in message for text in _SQLITE_LOST)
    state = getattr(cause, "sqlstate", None)
    if state is None:
        # psycopg raises these without a state when the socket closes mid-query or the
        # connection cannot be opened at all.
        return cause.__class__.__module__.startswith("psycopg")
    return state.startswith("08") or state in _PG_LOST_STATES


def connections_reset_broken() -> None:
    """Close connections an error left unusable, so the next query opens a fresh one.

    Django does this between requests; a worker running one long task, or a request that
    still has to render its error page, needs it at once.
    """
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close_if_unusable_or_obsolete()
