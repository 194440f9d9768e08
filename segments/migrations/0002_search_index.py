"""Substring search on name and Segment ID that does not scan every segment of the channel.

- SQLite (3.34+): an FTS5 trigram index kept in step with segments_segment by triggers, so
  bulk writes (Klaviyo sync, CSV upload) are indexed too.
- PostgreSQL: a generated column search_text = UPPER(name + newline + external_id), so a search
  is one LIKE on text upper-cased once at write time (half the cost of Django's
  `UPPER(name) LIKE … OR UPPER(external_id) LIKE …` per row), with a pg_trgm GIN index on it.
  Creating the extension needs a privilege some hosts do not grant; then only the index is
  skipped and search still works, by scanning.

Both degrade gracefully: segments.search_index.fts_available() tells the selector what exists.
"""

import logging

from django.db import DatabaseError, migrations

logger = logging.getLogger(__name__)

# Contentless (the text lives in segments_segment): the channel is indexed as a "§<id>§" token so
# one MATCH answers "in this channel and containing this text" without touching the table.
# Deleting from a contentless index needs the exact old values, which the triggers pass.
SQLITE_CREATE = [
    """CREATE VIRTUAL TABLE IF NOT EXISTS segments_segment_fts USING fts5(
        name, external_id, channel, content='', tokenize='trigram'
    )""",
    """CREATE TRIGGER IF NOT EXISTS segments_segment_fts_insert AFTER INSERT ON segments_segment
    BEGIN
        INSERT INTO segments_segment_fts(rowid, name, external_id, channel)
        VALUES (new.id, new.name, new.external_id, '§' || new.channel_id || '§');
    END""",
    """CREATE TRIGGER IF NOT EXISTS segments_segment_fts_delete AFTER DELETE ON segments_segment
    BEGIN
        INSERT INTO segments_segment_fts(segments_segment_fts, rowid, name, external_id, channel)
        VALUES ('delete', old.id, old.name, old.external_id, '§' || old.channel_id || '§');
    END""",
    """CREATE TRIGGER IF NOT EXISTS segments_segment_fts_update
    AFTER UPDATE OF name, external_id, channel_id ON segments_segment
    BEGIN
        INSERT INTO segments_segment_fts(segments_segment_fts, rowid, name, external_id, channel)
        VALUES ('delete', old.id, old.name, old.external_id, '§' || old.channel_id || '§');
        INSERT INTO segments_segment_fts(rowid, name, external_id, channel)
        VALUES (new.id, new.name, new.external_id, '§' || new.channel_id || '§');
    END""",
    """INSERT INTO segments_segment_fts(rowid, name, external_id, channel)
    SELECT id, name, external_id, '§' || channel_id || '§' FROM segments_segment""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS segments_segment_fts_insert",
    "DROP TRIGGER IF EXISTS segments_segment_fts_delete",
    "DROP TRIGGER IF EXISTS segments_segment_fts_update",
    "DROP TABLE IF EXISTS segments_segment_fts",
]
PG_COLUMN = (
    "ALTER TABLE segments_segment ADD COLUMN IF NOT EXISTS search_text text "
    "GENERATED ALWAYS AS (UPPER(name || chr(10) || external_id)) STORED"
)
PG_CREATE = [
    "CREATE INDEX IF NOT EXISTS segment_search_text_trgm ON segments_segment "
    "USING gin (search_text gin_trgm_ops)",
]
PG_DROP = [
    "DROP INDEX IF EXISTS segment_search_text_trgm",
    "ALTER TABLE segments_segment DROP COLUMN IF EXISTS search_text",
]


def create_search_index(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        import sqlite3

        if sqlite3.sqlite_version_info < (3, 34):
            logger.warning("SQLite %s has no trigram FTS5: search scans.", sqlite3.sqlite_version)
            return
        for sql in SQLITE_CREATE:
            schema_editor.execute(sql)
    elif connection.vendor == "postgresql":
        schema_editor.execute(PG_COLUMN)
        try:
            with connection.cursor() as cursor, _savepoint(connection):
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except DatabaseError:
            logger.warning("Cannot create the pg_trgm extension here: segment search scans.")
            return
        for sql in PG_CREATE:
            schema_editor.execute(sql)


def drop_search_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in SQLITE_DROP if vendor == "sqlite" else PG_DROP if vendor == "postgresql" else []:
        schema_editor.execute(sql)


def _savepoint(connection):
    from django.db import transaction

    return transaction.atomic(using=connection.alias)


class Migration(migrations.Migration):
    dependencies = [("segments", "0001_initial")]

    operations = [migrations.RunPython(create_search_index, drop_search_index, elidable=False)]
