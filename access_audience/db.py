"""What the app does when the database connection breaks under it (a restart, a failover, a
terminated backend): the request or task in progress fails cleanly, and the next one reconnects."""

from django.db import InterfaceError, OperationalError, connections

# Errors that mean "the connection is gone or the server is unavailable", as opposed to a
# constraint or data error that the code handles where it happens.
CONNECTION_ERRORS = (OperationalError, InterfaceError)


def connections_reset_broken() -> None:
    """Close connections an error left unusable, so the next query opens a fresh one.

    Django does this between requests; a worker running one long task, or a request that
    still has to render its error page, needs it at once.
    """
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close_if_unusable_or_obsolete()
