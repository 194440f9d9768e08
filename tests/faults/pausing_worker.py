"""`manage.py db_worker` that stops still inside a write transaction, for a test to kill it.

    python -m tests.faults.pausing_worker MARKER [db_worker options]

Before the worker starts, two internal steps are wrapped so that once the first batch has been
written inside the transaction the worker writes the file MARKER and sleeps: the CSV import's
`_SegmentRun._flush` (the second call of an import that writes, so the first batch of rows and
its progress are in) and the Klaviyo sync's `_batches` inside `channel_apply` (asked for the
second batch after the first was created). The test then sends SIGKILL from outside. If no one
does, the worker exits after PAUSE_SECONDS as if it had crashed, so it never lingers.
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

    from integrations.klaviyo import sync
    from integrations.uploads import importers

    paused = False

    def pause() -> None:
        nonlocal paused
        paused = True
        marker.write_text(str(os.getpid()))
        time.sleep(PAUSE_SECONDS)
        os._exit(3)

    flush = importers._SegmentRun._flush
    writes = 0

    def pausing_flush(self, batch, labels):
        nonlocal writes
        if self.write and not paused:
            writes += 1
            if writes == 2:
                pause()
        return flush(self, batch, labels)

    batches = sync._batches

    def pausing_batches(items, size=sync.BATCH_SIZE):
        for number, batch in enumerate(batches(items, size)):
            yield batch
            if number == 0 and not paused:
                pause()

    importers._SegmentRun._flush = pausing_flush
    sync._batches = pausing_batches
    call_command("db_worker", *options)


if __name__ == "__main__":
    main(sys.argv[1:])
