"""`manage.py db_worker` that stops still inside a write transaction, for a test to kill it.

    python -m tests.faults.pausing_worker MARKER [db_worker options]

Before the worker starts, the segments' bulk write of one batch (`segments.bulk.write_batch`,
used by the CSV import and the Klaviyo sync alike) is wrapped so that once the first batch has
been written inside the transaction the worker writes the file MARKER and sleeps: on the second
call, so the first batch of rows (and an import's progress) are in. The test then sends SIGKILL
from outside. If no one does, the worker exits after PAUSE_SECONDS as if it had crashed, so it
never lingers.
"""

import os
import sys
import time
from pathlib import Path

PAUSE_SECONDS = 60


def main(argv: list[str]) -> None:
    marker, options = Path(argv[0]), argv[1:]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "access_audience.settings")
    import django

    django.setup()

    from django.core.management import call_command

    from segments import bulk

    paused = False

    def pause() -> None:
        nonlocal paused
        paused = True
        marker.write_text(str(os.getpid()))
        time.sleep(PAUSE_SECONDS)
        os._exit(3)

    write_batch = bulk.write_batch
    writes = 0

    def pausing_write_batch(upsert, creates, updates):
        nonlocal writes
        if not paused:
            writes += 1
            if writes == 2:
                pause()
        return write_batch(upsert, creates, updates)

    bulk.write_batch = pausing_write_batch
    call_command("db_worker", *options)


if __name__ == "__main__":
    main(sys.argv[1:])
