#!/bin/sh
# db's entrypoint: the image's own, with the write-ahead log on a volume of its own (pgwal).
# PostgreSQL stops (PANIC) when it cannot write its WAL, but only fails the statement when it
# cannot extend a table: with the WAL apart, a full data volume fails writes with an error while
# reads keep working, and the server is back to normal as soon as space is freed.
set -eu
wal=/var/lib/postgresql/wal/pg_wal
data=${PGDATA:-/var/lib/postgresql/data}

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$wal"
  chown postgres:postgres "$wal"
  chmod 700 "$wal"
fi
if [ ! -s "$data/PG_VERSION" ] && [ -n "$(ls -A "$wal" 2>/dev/null)" ]; then
  echo "error: the data volume is empty but the WAL volume ($wal) is not: it belongs to a database" >&2
  echo "       that is gone. Remove both volumes together (make clean), or restore the data volume." >&2
  exit 1
fi
if [ -d "$data/pg_wal" ] && [ ! -L "$data/pg_wal" ]; then
  echo "note: this database keeps its WAL inside the data volume (it was created before the WAL" >&2
  echo "      volume existed); docs/operations.md#disk-space says how to move it." >&2
fi
POSTGRES_INITDB_ARGS="--waldir=$wal ${POSTGRES_INITDB_ARGS:-}"
export POSTGRES_INITDB_ARGS
exec docker-entrypoint.sh "$@"
