"""Substring search on segment name and Segment ID, backed by an index where the database has one.

See migrations/0002_search_index.py: on SQLite an FTS5 trigram index that also knows each
segment's channel; on PostgreSQL a generated, upper-cased search_text column (name and
Segment ID) with a pg_trgm GIN index. The column is not a model field: the database fills it.
"""

import sqlite3
from collections.abc import Callable

from django.db import connections
from django.db.models import Expression, Q, QuerySet, TextField, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Upper

# Trigram indexes cannot answer queries shorter than three characters.
MIN_INDEXED_LENGTH = 3


class SearchText(Expression):
    """segments_segment.search_text (PostgreSQL only), under whatever alias the query gives it."""

    output_field = TextField()

    def as_sql(self, compiler, connection):
        alias = compiler.query.get_initial_alias()
        return f"{compiler.quote_name(alias)}.search_text", []


# Up to this many matches, a page is read from the index's matches and sorted; beyond it,
# walking the channel's (channel, name) index finds a page of matches sooner.
FEW_MATCHES = 1000


class SegmentSearchQuerySet(QuerySet):
    """A search result whose count() may use a cheaper query than its rows.

    The count set by the search is used only on this very queryset: any further filter, order
    or slice makes a clone, which counts the ordinary way. Once that count is known and small,
    a slice (a page) is read through `_few_matches_queryset`: the same rows in the same order,
    looked up from the index's matches instead of walking the whole channel in name order
    (which, with few matches, reads every segment of the channel to fill one page).
    """

    _counter: Callable[[], int] | None = None
    _few_matches_queryset: QuerySet | None = None
    _known_count: int | None = None

    def count(self) -> int:
        if self._counter is not None and self._result_cache is None:
            self._known_count = self._counter()
            return self._known_count
        return super().count()

    def __getitem__(self, k):
        few = self._few_matches_queryset
        if (
            few is not None
            and self._result_cache is None
            and self._known_count is not None
            and self._known_count <= FEW_MATCHES
        ):
            return few[k]
        return super().__getitem__(k)


def uses_fts(alias: str, query: str) -> bool:
    return (
        len(query) >= MIN_INDEXED_LENGTH
        and connections[alias].vendor == "sqlite"
        and sqlite3.sqlite_version_info >= (3, 34)
    )


def fts_matches(channel_id: int, query: str) -> RawSQL:
    """Ids of the channel's segments whose name or Segment ID contains `query` (SQLite)."""
    phrase = '"' + query.replace('"', '""') + '"'
    match = f'channel : "§{int(channel_id)}§" AND {{name external_id}} : {phrase}'
    return RawSQL(
        "SELECT rowid FROM segments_segment_fts WHERE segments_segment_fts MATCH %s", [match]
    )


def fts_count(alias: str, channel_id: int, query: str) -> int:
    """How many of the channel's segments contain `query` in name or Segment ID (SQLite).

    Counted in the index alone: its rows are the table's rows (triggers keep them in step),
    so this skips reading every matched row of the table, which is most of a large count.
    """
    raw = fts_matches(channel_id, query)
    sql = "SELECT COUNT(*) FROM segments_segment_fts WHERE segments_segment_fts MATCH %s"
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, raw.params)
        return cursor.fetchone()[0]


def filter_by_text(qs: QuerySet, query: str, *, channel_id: int) -> QuerySet:
    """Segments of `qs` whose name or Segment ID contains `query`, ignoring case."""
    connection = connections[qs.db]
    if uses_fts(qs.db, query):
        return qs.filter(pk__in=fts_matches(channel_id, query))
    if connection.vendor == "postgresql":
        return qs.alias(search_text=SearchText()).filter(search_text__contains=Upper(Value(query)))
    return qs.filter(Q(name__icontains=query) | Q(external_id__icontains=query))
