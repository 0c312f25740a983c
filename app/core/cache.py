"""The shared cache: Django's database cache, without culling live keys."""

from typing import Any

from django.core.cache.backends.db import DatabaseCache
from django.db import connections


class ExpiredOnlyCullingDatabaseCache(DatabaseCache):
    """Django's DatabaseCache, except that a full table loses only its expired keys.

    Django's culls a third of the live keys too (the lowest by name) whenever the table holds
    more than MAX_ENTRIES: the throttles' counts live here, so a few hundred other clients were
    enough to erase an attacker's count, and the limit stopped holding. The keys here are
    counts with a lifetime of the throttle's window, so the table stays as large as the number
    of clients active in that window: past MAX_ENTRIES it is trimmed to that, never below.
    """

    def _cull(self, db: str, cursor: Any, now: Any, num: int) -> None:
        connection = connections[db]
        table = connection.ops.quote_name(self._table)  # type: ignore[attr-defined]  # set by BaseDatabaseCache
        cursor.execute(
            f"DELETE FROM {table} WHERE {connection.ops.quote_name('expires')} < %s",  # noqa: S608  (own names only)
            [connection.ops.adapt_datetimefield_value(now)],
        )
