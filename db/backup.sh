#!/usr/bin/env bash
# Backups of the app's database that are proven restorable, and a restore that keeps the current
# data until the restored copy is proven. Runs in the PostgreSQL image of the server itself (the
# `backup` and `restore` services), so pg_dump and pg_restore always match the server's version.
#
#   backup            dump, verify in a scratch cluster, keep, prune; prints the file and its counts
#   verify FILE       check a kept backup again (checksum, manifest, scratch restore, counts)
#   prune             apply the retention (BACKUP_KEEP_DAILY / _WEEKLY / _MONTHLY)
#   list              the backups, newest first, and the databases a restore kept
#   status            the newest verified backup and its age
#   schedule          the stack's loop: a backup whenever the newest is BACKUP_INTERVAL old
#   restore-check FILE             checksum and manifest, before anything is touched
#   restore-prepare FILE STAMP     restore into a new database <db>_restore_STAMP and verify it
#   restore-swap STAMP             the live database becomes <db>_previous_STAMP, the new one live
#   undo NAME STAMP                a kept database becomes the live one; the live one <db>_undone_STAMP
#   drop NAME                      drop a database a restore or an undo kept
#
# A backup is two files in BACKUP_DIR (/backups here): <db>-<UTC stamp>.dump (pg_dump's custom
# format) and <db>-<UTC stamp>.json, its manifest: time, server version, migration state, each
# table's row count and content checksum (taken in the dump's own snapshot), the dump's size and
# SHA-256. Both are written under hidden temporary names and renamed only once the dump has been
# restored into a scratch cluster and matched the manifest; the manifest is renamed last, so a
# dump without its manifest is never a backup. Files are written as the owner of BACKUP_DIR.
set -Eeuo pipefail

DB=${POSTGRES_DB:-app}
DIR=${BACKUP_DIR_IN_CONTAINER:-/backups}
LABEL=${BACKUP_DIR_LABEL:-$DIR}
SCRATCH_ROOT=${BACKUP_SCRATCH:-/var/lib/postgresql/data}
FORMAT=djstack-backup/1
STAMP_RE='[0-9]{8}T[0-9]{6}Z'

log() { printf 'backup: %s\n' "$*" >&2; }
die() { printf 'backup: error: %s\n' "$*" >&2; exit 1; }

secret() {  # the value of $1, or the contents of the file named by ${1}_FILE
  local value fvar="$1_FILE" file
  value=${!1:-}
  file=${!fvar:-}
  if [ -n "$file" ]; then value=$(cat "$file"); fi
  [ -n "$value" ] || die "$1 (or $1_FILE) is not set"
  printf '%s' "$value"
}

# (`return $?`, never a bare `return`: in an EXIT trap a bare one returns the status that fired it.)
# Files in BACKUP_DIR belong to its owner (the host user of a bind mount); everything else runs
# as root without DAC_OVERRIDE (reading nothing it does not own) or as postgres (the scratch
# cluster: initdb and the server refuse root).
# A restore reads from the folder of the file it is given (OWNER_DIR), mounted read-only.
umask 077
OWNER_DIR=$DIR
dir_owner() { stat -c '%u:%g' "$OWNER_DIR"; }
as_owner() {
  local owner; owner=$(dir_owner)
  if [ "$(id -u):$(id -g)" = "$owner" ]; then "$@"; return $?; fi
  setpriv --reuid="${owner%:*}" --regid="${owner#*:}" --clear-groups "$@"
}
as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; return $?; fi
  setpriv --reuid=postgres --regid=postgres --init-groups "$@"
}

# The live server, as the role each task needs: backups read as the owner role (it owns every
# table); a restore creates and renames databases, which takes the superuser.
live_psql() {  # live_psql DBNAME ARGS...
  local dbname=$1; shift
  with_vars PGPASSWORD="$LIVE_PASSWORD" psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 --host "${PGHOST:-db}" \
    --port "${PGPORT:-5432}" --username "$LIVE_USER" --dbname "$dbname" "$@"
}
# psql interpolates :'variables' only in what it reads, not in -c: each `-c SQL` becomes a line
# of its standard input (statements run in order; ON_ERROR_STOP stops at the first failure).
with_vars() {
  local args=() script=
  while [ $# -gt 0 ]; do
    if [ "$1" = -c ]; then script+="$2;"$'\n'; shift 2; else args+=("$1"); shift; fi
  done
  if [ -n "$script" ]; then env "${args[@]}" <<<"$script"; else env "${args[@]}"; fi
}
use_owner() { LIVE_USER=${DATABASE_OWNER_USER:-app_owner}; LIVE_PASSWORD=$(secret DATABASE_OWNER_PASSWORD); }
use_superuser() { LIVE_USER=${POSTGRES_USER:-postgres}; LIVE_PASSWORD=$(secret POSTGRES_PASSWORD); }

# Row text in one fixed form, so the same rows give the same checksum in any session.
SESSION_SQL="SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres';
SET extra_float_digits = 1; SET bytea_output = 'hex';"
# Each table's row count and the sum of its rows' hashes (order-free, constant memory), as one
# JSON object keyed by schema.table. query_to_xml runs the per-table query inside this statement,
# so it works in a read-only transaction.
TABLES_SQL="SELECT coalesce(jsonb_object_agg(name, jsonb_build_object('rows', n, 'checksum', h)), '{}')
FROM (SELECT format('%s.%s', schemaname, tablename) AS name,
             (xpath('/row/n/text()', x))[1]::text::bigint AS n,
             (xpath('/row/h/text()', x))[1]::text AS h
      FROM pg_tables, LATERAL query_to_xml(format(
        'SELECT count(*) AS n, coalesce(sum((''x'' || left(md5(t::text), 16))::bit(64)::bigint), 0) AS h FROM %I.%I t',
        schemaname, tablename), false, true, '') AS x
      WHERE schemaname NOT IN ('pg_catalog', 'information_schema')) AS t"

human_size() { numfmt --to=iec-i --suffix=B "$1" 2>/dev/null || printf '%s bytes' "$1"; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# ---- The scratch cluster: a throwaway PostgreSQL in this container, never the live server ------
SCRATCH=
scratch_start() {
  SCRATCH=$SCRATCH_ROOT/scratch-$$
  as_postgres rm -rf "$SCRATCH"
  # Open to the directory owner's pg_restore (the server trusts its socket; nothing else is here).
  as_postgres mkdir -p -m 755 "$SCRATCH" "$SCRATCH/sock"
  as_postgres initdb --pgdata "$SCRATCH/data" --username postgres --auth trust --encoding UTF8 \
    --locale C.UTF-8 >/tmp/scratch-initdb.log 2>&1 || { cat /tmp/scratch-initdb.log >&2; die "the scratch cluster did not initialise"; }
  # Durability is pointless for a copy that is thrown away: no fsync makes the restore faster.
  as_postgres pg_ctl --pgdata "$SCRATCH/data" --silent --wait --timeout 60 --log "$SCRATCH/server.log" \
    -o "-c listen_addresses='' -c unix_socket_directories='$SCRATCH/sock' -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_wal_size=1GB" \
    start || { as_postgres cat "$SCRATCH/server.log" >&2; die "the scratch cluster did not start"; }
}
scratch_stop() {
  [ -n "$SCRATCH" ] || return 0
  as_postgres pg_ctl --pgdata "$SCRATCH/data" --silent --mode immediate stop >/dev/null 2>&1 || true
  as_postgres rm -rf "$SCRATCH" || true
  SCRATCH=
}
scratch_psql() { with_vars psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 --host "$SCRATCH/sock" --username postgres "$@"; }

# ---- backup --------------------------------------------------------------------------------------
cleanup_backup() {
  local rc=$?
  scratch_stop
  if [ -n "${PARTIAL_DUMP:-}" ]; then as_owner rm -f "$PARTIAL_DUMP" "$PARTIAL_MANIFEST" || true; fi
  if [ "$rc" != 0 ]; then write_status failure; fi
}

# One backup or prune at a time, across containers: the lock lives on the scratch volume that
# every backup container mounts (root can open it there; BACKUP_DIR may be its owner's only).
with_lock() {
  local lock=$SCRATCH_ROOT/.backup.lock
  # shellcheck disable=SC2016  # $1 is the inner shell's
  [ -e "$lock" ] || as_postgres sh -c 'umask 022; touch "$1"' _ "$lock"
  exec 9<"$lock" || die "cannot open the lock $lock"
  if ! flock --nonblock 9; then
    log "another backup is running; waiting for it (up to ${BACKUP_LOCK_TIMEOUT:-3600} s)"
    flock --wait "${BACKUP_LOCK_TIMEOUT:-3600}" 9 || die "another backup still holds the lock after ${BACKUP_LOCK_TIMEOUT:-3600} s"
  fi
}

cmd_backup() {
  [ -d "$DIR" ] || die "$LABEL does not exist"
  as_owner test -w "$DIR" || die "$LABEL is not writable by its owner"
  use_owner
  with_lock
  # What an interrupted run left (the lock says no run is in progress).
  as_owner find "$DIR" -maxdepth 1 -name '.*.partial' -delete
  local stamp name started dumped
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  name="$DB-$stamp"
  PARTIAL_DUMP="$DIR/.$name.dump.partial"
  PARTIAL_MANIFEST="$DIR/.$name.json.partial"
  trap cleanup_backup EXIT
  trap 'exit 143' TERM INT
  started=$(date +%s.%N)

  # One repeatable-read transaction exports its snapshot; pg_dump dumps exactly that snapshot
  # while the same session counts and checksums every table in it, so the manifest describes the
  # dump's rows, not the rows of a moment later. Readers take no lock that blocks writers.
  local rcfile=/tmp/backup-dump-rc-$$ body
  rm -f "$rcfile"
  export PARTIAL_DUMP rcfile LIVE_USER DB
  body=$(live_psql "$DB" -At <<SQL
$SESSION_SQL
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT pg_export_snapshot() AS snapshot \\gset
\\setenv BACKUP_SNAPSHOT :snapshot
\\! $(as_owner_cmd) pg_dump --host "\${PGHOST:-db}" --port "\${PGPORT:-5432}" --username "\$LIVE_USER" --dbname "\$DB" --format custom --snapshot "\$BACKUP_SNAPSHOT" --file "\$PARTIAL_DUMP"; echo \$? > "\$rcfile"
SELECT to_regclass('public.django_migrations') IS NOT NULL AS django \\gset
\\if :django
SELECT coalesce(jsonb_object_agg(app, names), '{}') AS migrations
  FROM (SELECT app, jsonb_agg(name ORDER BY name) AS names FROM django_migrations GROUP BY app) AS m \\gset
\\else
\\set migrations '{}'
\\endif
SELECT jsonb_build_object(
  'format', '$FORMAT', 'database', current_database(),
  'created_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
  'server_version', current_setting('server_version'),
  'server_version_num', current_setting('server_version_num')::int,
  'migrations', :'migrations'::jsonb,
  'tables', ($TABLES_SQL))::text;
COMMIT;
SQL
  ) || die "reading the database failed (above)"
  [ "$(cat "$rcfile" 2>/dev/null)" = 0 ] || die "pg_dump failed (above); no backup was kept"
  rm -f "$rcfile"
  dumped=$(date +%s.%N)

  local bytes sha manifest
  bytes=$(as_owner stat -c %s "$PARTIAL_DUMP")
  sha=$(as_owner sha256sum "$PARTIAL_DUMP" | cut -d' ' -f1)
  manifest="${body%\}}, \"file\": \"$name.dump\", \"bytes\": $bytes, \"sha256\": \"$sha\"}"
  printf '%s\n' "$manifest" | as_owner tee "$PARTIAL_MANIFEST" >/dev/null \
    || die "writing the manifest failed (is $LABEL full?)"
  # The manifest must read back whole: a full disk can truncate it silently.
  [ "$(as_owner cat "$PARTIAL_MANIFEST")" = "$manifest" ] || die "the manifest did not write whole (is $LABEL full?)"

  verify_files "$PARTIAL_DUMP" "$manifest"
  as_owner mv "$PARTIAL_DUMP" "$DIR/$name.dump"
  as_owner mv "$PARTIAL_MANIFEST" "$DIR/$name.json"
  PARTIAL_DUMP=
  log "$LABEL/$name.dump ($(human_size "$bytes")): dumped in $(awk -v a="$started" -v b="$dumped" 'BEGIN { printf "%.1f", b - a }') s, verified in $(elapsed "$dumped") s"
  print_tables "$manifest"
  log "verified: restored into a scratch PostgreSQL $(json_field "$manifest" server_version), every table's rows and checksum match the manifest"
  scratch_stop
  trap - EXIT
  write_status success "$stamp" "$bytes" "$(elapsed "$started")"
  prune_locked
}
as_owner_cmd() {  # the command prefix that runs pg_dump as BACKUP_DIR's owner, from psql's \!
  local owner; owner=$(dir_owner)
  if [ "$(id -u):$(id -g)" = "$owner" ]; then return 0; fi
  printf 'setpriv --reuid=%s --regid=%s --clear-groups' "${owner%:*}" "${owner#*:}"
}

# A top-level string or number of a manifest, with PostgreSQL's parser in a scratch cluster or,
# if none runs, in a throwaway psql against the live server's maintenance database.
json_field() { scratch_or_live -At -v m="$1" -v k="$2" -c "SELECT :'m'::jsonb ->> :'k'"; }

print_tables() {
  local text=$1
  scratch_or_live -At -F ' ' -v m="$text" -c "SELECT format('  %-40s %s rows', key, value ->> 'rows')
    FROM jsonb_each(:'m'::jsonb -> 'tables') ORDER BY key" >&2
}
scratch_or_live() { if [ -n "$SCRATCH" ]; then scratch_psql --dbname postgres "$@"; else live_psql postgres "$@"; fi; }

# Restore DUMP into a new scratch cluster and compare every table with the manifest. Leaves the
# scratch cluster running (the caller stops it).
verify_files() {
  local dump=$1 manifest=$2 got diff
  scratch_start
  scratch_psql --dbname postgres -c 'CREATE DATABASE verify' >/dev/null
  # As the directory's owner, who can read the dump; the scratch server trusts its local socket.
  as_owner pg_restore --host "$SCRATCH/sock" --username postgres --dbname verify --no-owner --no-privileges \
    --exit-on-error "$dump" 2>/tmp/verify-restore.log \
    || { tail -n 5 /tmp/verify-restore.log >&2; die "verification failed: the dump does not restore (above)"; }
  got=$(scratch_psql --dbname verify -At <<SQL
$SESSION_SQL
$TABLES_SQL;
SQL
  )
  diff=$(scratch_psql --dbname postgres -At -v m="$manifest" -v got="$got" -c "
    SELECT coalesce(string_agg(format('%s: manifest %s, restored %s', key,
             coalesce(e.value::text, 'missing'), coalesce(r.value::text, 'missing')), '; ' ORDER BY key), '')
    FROM jsonb_each(:'m'::jsonb -> 'tables') AS e FULL JOIN jsonb_each(:'got'::jsonb) AS r USING (key)
    WHERE e.value IS DISTINCT FROM r.value")
  [ -z "$diff" ] || die "verification failed: the restored copy differs from the manifest: ${diff:0:400}"
}

# ---- verify, restore -----------------------------------------------------------------------------
# The checks that need nothing but the files: manifest present, JSON of our format, for this
# database, size and SHA-256 of the dump as recorded, and an archive pg_restore can read.
# Sets MANIFEST. PSQL parses with the live server (superuser or owner).
check_files() {
  local dump=$1 base manifest_file format bytes sha archive_db
  [ -f "$dump" ] || die "$dump: no such file"
  case "$dump" in *.dump) ;; *) die "$dump: not a backup (a backup's name ends in .dump; its manifest is the .json beside it)" ;; esac
  base=${dump%.dump}
  manifest_file="$base.json"
  [ -f "$manifest_file" ] || die "$dump: its manifest $(basename "$manifest_file") is missing (an incomplete or foreign file?)"
  MANIFEST=$(as_owner cat "$manifest_file")
  format=$(scratch_or_live -At -v m="$MANIFEST" -c "SELECT :'m'::jsonb ->> 'format'" 2>/dev/null) \
    || die "$(basename "$manifest_file"): not a manifest (not JSON)"
  [ "$format" = "$FORMAT" ] || die "$(basename "$manifest_file"): not a manifest of this tool (format '${format}', expected '$FORMAT')"
  local mdb; mdb=$(json_field "$MANIFEST" database)
  [ "$mdb" = "$DB" ] || die "$dump is a backup of database '$mdb', not of this stack's '$DB'"
  [ "$(json_field "$MANIFEST" file)" = "$(basename "$dump")" ] || die "$dump: its manifest describes another file ($(json_field "$MANIFEST" file))"
  bytes=$(as_owner stat -c %s "$dump")
  [ "$bytes" = "$(json_field "$MANIFEST" bytes)" ] \
    || die "$dump is $bytes bytes, its manifest says $(json_field "$MANIFEST" bytes): truncated or altered; refused"
  sha=$(as_owner sha256sum "$dump" | cut -d' ' -f1)
  [ "$sha" = "$(json_field "$MANIFEST" sha256)" ] || die "$dump: SHA-256 does not match its manifest: corrupted or altered; refused"
  archive_db=$(as_owner pg_restore --list "$dump" 2>/dev/null | sed -n 's/^;[[:space:]]*dbname: //p') \
    || die "$dump: not an archive pg_restore can read"
  [ "$archive_db" = "$DB" ] || die "$dump is a dump of database '${archive_db}', not '$DB'; refused"
}

cmd_verify() {
  local dump=${1:?usage: verify FILE}
  use_owner
  OWNER_DIR=$(dirname "$dump")
  check_files "$dump"
  trap scratch_stop EXIT
  verify_files "$dump" "$MANIFEST"
  log "$dump: verified (checksum, manifest, restored into a scratch cluster: every table matches)"
}

cmd_restore_check() {
  local dump=${1:?usage: restore-check FILE}
  use_superuser
  OWNER_DIR=$(dirname "$dump")
  check_files "$dump"
  printf 'Backup %s: database %s, taken %s, PostgreSQL %s, %s\n' "$(basename "$dump")" "$DB" \
    "$(json_field "$MANIFEST" created_at)" "$(json_field "$MANIFEST" server_version)" \
    "$(human_size "$(json_field "$MANIFEST" bytes)")"
  print_tables "$MANIFEST" 2>&1
  printf 'Checksum and manifest: OK\n'
}

NEW_DB=
drop_new_db() {
  if [ -n "$NEW_DB" ]; then
    live_psql postgres -c "DROP DATABASE IF EXISTS \"$NEW_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
    log "the new database $NEW_DB was dropped; the live database $DB is untouched"
  fi
}

cmd_restore_prepare() {
  local dump=${1:?usage: restore-prepare FILE STAMP} stamp=${2:?usage: restore-prepare FILE STAMP} got diff started
  local new=${DB}_restore_$stamp
  use_superuser
  OWNER_DIR=$(dirname "$dump")
  check_files "$dump"
  started=$(date +%s.%N)
  local owner=${DATABASE_OWNER_USER:-app_owner}
  live_psql postgres -v new="$new" -v owner="$owner" -c 'CREATE DATABASE :"new" OWNER :"owner"' >/dev/null
  NEW_DB=$new
  trap drop_new_db EXIT
  # Objects owned by the owner role whatever the backup's role names were; db-roles grants the
  # runtime role its rows at the next start.
  PGPASSWORD=$LIVE_PASSWORD as_owner pg_restore --host "${PGHOST:-db}" --username "$LIVE_USER" --dbname "$new" --no-owner \
    --no-privileges --role "$owner" --exit-on-error --single-transaction "$dump" 2>/tmp/restore.log \
    || { tail -n 5 /tmp/restore.log >&2; die "the backup does not restore (above)"; }
  got=$(live_psql "$new" -At <<SQL
$SESSION_SQL
$TABLES_SQL;
SQL
  )
  diff=$(live_psql postgres -At -v m="$MANIFEST" -v got="$got" -c "
    SELECT coalesce(string_agg(format('%s: manifest %s, restored %s', key,
             coalesce(e.value::text, 'missing'), coalesce(r.value::text, 'missing')), '; ' ORDER BY key), '')
    FROM jsonb_each(:'m'::jsonb -> 'tables') AS e FULL JOIN jsonb_each(:'got'::jsonb) AS r USING (key)
    WHERE e.value IS DISTINCT FROM r.value")
  [ -z "$diff" ] || die "the restored copy differs from the manifest: ${diff:0:400}; refused"
  NEW_DB=
  trap - EXIT
  printf 'Restored into the new database %s and verified against the manifest in %s s\n' "$new" "$(elapsed "$started")"
}

# Rename the live database to KEEP and NEW to the live name. Connections to the live database are
# refused, then ended, so open sessions cannot make the rename fail; on any failure the names are
# put back as they were. The app is stopped around it (make restore, make restore-undo).
swap_in() {
  local keep=$1 new=$2 tries=0
  use_superuser
  [ "${#keep}" -le 63 ] || die "$keep is longer than PostgreSQL's 63-character names"
  [ "$(live_psql postgres -At -v n="$new" -c "SELECT count(*) FROM pg_database WHERE datname = :'n'")" = 1 ] \
    || die "database $new does not exist"
  [ "$(live_psql postgres -At -v n="$keep" -c "SELECT count(*) FROM pg_database WHERE datname = :'n'")" = 0 ] \
    || die "database $keep already exists"
  live_psql postgres -v live="$DB" -c 'ALTER DATABASE :"live" ALLOW_CONNECTIONS false' >/dev/null
  until live_psql postgres -v live="$DB" -v keep="$keep" \
          -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :'live' AND pid <> pg_backend_pid()" \
          -c 'ALTER DATABASE :"live" RENAME TO :"keep"' >/dev/null 2>/tmp/swap.log; do
    tries=$((tries + 1))
    if [ "$tries" -ge 50 ]; then
      live_psql postgres -v live="$DB" -c 'ALTER DATABASE :"live" ALLOW_CONNECTIONS true' >/dev/null || true
      cat /tmp/swap.log >&2
      die "the live database could not be renamed (above); nothing was changed"
    fi
    sleep 0.2
  done
  if ! live_psql postgres -v live="$DB" -v keep="$keep" -v new="$new" \
      -c 'ALTER DATABASE :"keep" ALLOW_CONNECTIONS true' -c 'ALTER DATABASE :"new" RENAME TO :"live"' \
      -c 'ALTER DATABASE :"live" ALLOW_CONNECTIONS true' >/dev/null; then
    live_psql postgres -v live="$DB" -v keep="$keep" -c 'ALTER DATABASE :"keep" RENAME TO :"live"' \
      -c 'ALTER DATABASE :"live" ALLOW_CONNECTIONS true' >/dev/null || true
    die "the new database could not be renamed to $DB; the previous one is back in place"
  fi
}

cmd_restore_swap() {  # restore-swap STAMP: the database restore-prepare made becomes the live one
  local stamp=${1:?usage: restore-swap STAMP}
  swap_in "${DB}_previous_$stamp" "${DB}_restore_$stamp"
  printf 'Swapped in the restored database; the previous one is kept as %s (undo: make restore-undo PREVIOUS=%s)\n' "${DB}_previous_$stamp" "${DB}_previous_$stamp"
}

cmd_undo() {  # undo NAME STAMP: a kept database becomes the live one again; the current one is kept
  local name=${1:?usage: undo NAME STAMP} stamp=${2:?usage: undo NAME STAMP}
  [[ "$name" =~ ^${DB}_(previous|undone)_$STAMP_RE$ ]] \
    || die "$name is not a database a restore kept (${DB}_previous_<stamp>; make backups lists them)"
  swap_in "${DB}_undone_$stamp" "$name"
  printf '%s is the live database again; the one it replaced is kept as %s\n' "$name" "${DB}_undone_$stamp"
}

cmd_drop() {
  local name=${1:?usage: drop DATABASE}
  use_superuser
  [ "$name" != "$DB" ] || die "$name is the live database; refusing to drop it"
  [[ "$name" =~ ^${DB}_(previous|undone)_$STAMP_RE$ ]] || die "$name is not a database a restore kept (${DB}_previous_<stamp> or ${DB}_undone_<stamp>)"
  live_psql postgres -v name="$name" -c 'DROP DATABASE :"name" WITH (FORCE)' >/dev/null
  printf 'Dropped %s\n' "$name"
}

# ---- retention -----------------------------------------------------------------------------------
# The newest backup of each of the last BACKUP_KEEP_DAILY days that have one, of each of the last
# BACKUP_KEEP_WEEKLY ISO weeks and BACKUP_KEEP_MONTHLY months (one backup can count for all three),
# and always the newest. Everything else named <db>-<stamp>.dump/.json is removed. The clock is
# the backups' own stamps, so a stopped stack never loses its old backups by the calendar alone.
stamps() {  # the stamps of complete backups (both files), newest first
  local names; names=$(as_owner find "$DIR" -maxdepth 1 -type f -name "$DB-*" -printf '%f\n')
  sed -nE "s/^$DB-($STAMP_RE)\.json$/\1/p" <<<"$names" | while read -r s; do
    if grep -qxF "$DB-$s.dump" <<<"$names"; then echo "$s"; fi
  done | sort -r
}
keep_set() {
  local s
  stamps | while read -r s; do
    printf '%s %s %s %s\n' "$s" "${s:0:8}" "$(date -u -d "${s:0:4}-${s:4:2}-${s:6:2}" +%G%V)" "${s:0:6}"
  done | awk -v d="${BACKUP_KEEP_DAILY:-7}" -v w="${BACKUP_KEEP_WEEKLY:-4}" -v m="${BACKUP_KEEP_MONTHLY:-6}" '
    NR == 1 { print $1 }
    $2 != lastd && nd < d { nd++; lastd = $2; print $1 }
    $3 != lastw && nw < w { nw++; lastw = $3; print $1 }
    $4 != lastm && nm < m { nm++; lastm = $4; print $1 }' | sort -u
}
prune_locked() {
  local keep s removed=0
  for var in BACKUP_KEEP_DAILY BACKUP_KEEP_WEEKLY BACKUP_KEEP_MONTHLY; do
    [[ "${!var:-0}" =~ ^[0-9]+$ ]] || die "$var must be a whole number (got '${!var}')"
  done
  keep=$(keep_set)
  # Dumps whose manifest never came (an old crash) go too, once a newer complete backup exists.
  for s in $(as_owner find "$DIR" -maxdepth 1 -type f -name "$DB-*" -printf '%f\n' | sed -nE "s/^$DB-($STAMP_RE)\.(dump|json)$/\1/p" | sort -u); do
    if ! grep -qx "$s" <<<"$keep"; then
      as_owner rm -f "$DIR/$DB-$s.dump" "$DIR/$DB-$s.json"
      removed=$((removed + 1))
    fi
  done
  log "retention (${BACKUP_KEEP_DAILY:-7} daily, ${BACKUP_KEEP_WEEKLY:-4} weekly, ${BACKUP_KEEP_MONTHLY:-6} monthly): $(grep -c . <<<"$keep" || true) kept, $removed removed"
}
cmd_prune() { with_lock; prune_locked; }

# ---- status, for people and for monitoring --------------------------------------------------------
# BACKUP_DIR/backup.prom, in Prometheus' text format (a textfile collector or the monitoring
# profile reads it): the time of the newest verified backup and of the last failure.
write_status() {  # write_status success|failure|start [STAMP BYTES SECONDS]
  local result=$1 file="$DIR/backup.prom" newest ok_ts fail_ts size dur
  newest=$(stamps | head -n1)
  ok_ts=0; [ -z "$newest" ] || ok_ts=$(date -u -d "${newest:0:4}-${newest:4:2}-${newest:6:2}T${newest:9:2}:${newest:11:2}:${newest:13:2}Z" +%s)
  local old; old=$(as_owner cat "$file" 2>/dev/null || true)
  fail_ts=$(sed -nE 's/^djstack_backup_last_failure_timestamp_seconds ([0-9]+)$/\1/p' <<<"$old")
  if [ "$result" = failure ]; then fail_ts=$(date +%s); fi
  size=$(sed -nE 's/^djstack_backup_last_size_bytes ([0-9]+)$/\1/p' <<<"$old")
  dur=$(sed -nE 's/^djstack_backup_last_duration_seconds ([0-9.]+)$/\1/p' <<<"$old")
  if [ "$result" = success ]; then size=$3; dur=$4; fi
  # shellcheck disable=SC2016  # $1 is the inner shell's
  as_owner sh -c 'umask 022; cat > "$1"' _ "$file.tmp" <<EOF || { as_owner rm -f "$file.tmp"; return 0; }
# HELP djstack_backup_last_success_timestamp_seconds When the newest verified backup was taken (0: none).
# TYPE djstack_backup_last_success_timestamp_seconds gauge
djstack_backup_last_success_timestamp_seconds $ok_ts
# HELP djstack_backup_last_failure_timestamp_seconds When a backup last failed (0: never).
# TYPE djstack_backup_last_failure_timestamp_seconds gauge
djstack_backup_last_failure_timestamp_seconds ${fail_ts:-0}
# HELP djstack_backup_last_size_bytes Size of the last verified backup's dump.
# TYPE djstack_backup_last_size_bytes gauge
djstack_backup_last_size_bytes ${size:-0}
# HELP djstack_backup_last_duration_seconds How long the last verified backup took, dump and verification.
# TYPE djstack_backup_last_duration_seconds gauge
djstack_backup_last_duration_seconds ${dur:-0}
EOF
  as_owner mv "$file.tmp" "$file" || true
  # A copy for Prometheus (the backup-status volume, which Nginx serves on its internal port): the
  # backups' folder itself is never mounted anywhere else.
  if [ -d /status ] && [ -w /status ] && as_owner cat "$file" > /status/.backup.prom.tmp 2>/dev/null; then
    chmod 644 /status/.backup.prom.tmp && mv /status/.backup.prom.tmp /status/backup.prom
  fi
}

newest_age() {  # seconds since the newest complete backup, or empty
  local s; s=$(stamps | head -n1)
  [ -n "$s" ] || return 0
  echo $(( $(date +%s) - $(date -u -d "${s:0:4}-${s:4:2}-${s:6:2}T${s:9:2}:${s:11:2}:${s:13:2}Z" +%s) ))
}

cmd_status() {
  local s age; s=$(stamps | head -n1)
  if [ -z "$s" ]; then echo "No verified backup in $LABEL yet."; return 0; fi
  age=$(newest_age)
  printf 'Newest verified backup: %s/%s-%s.dump, %dh %02dm old\n' "$LABEL" "$DB" "$s" $((age / 3600)) $((age % 3600 / 60))
}

cmd_list() {
  local s
  echo "Backups in $LABEL (newest first):"
  for s in $(stamps); do
    printf '  %s-%s.dump  %s\n' "$DB" "$s" "$(human_size "$(as_owner stat -c %s "$DIR/$DB-$s.dump")")"
  done
  use_superuser
  local kept
  kept=$(live_psql postgres -At -v p="${DB}_previous_%" -v u="${DB}_undone_%" \
    -c "SELECT datname FROM pg_database WHERE datname LIKE :'p' OR datname LIKE :'u' ORDER BY datname" 2>/dev/null || true)
  if [ -n "$kept" ]; then
    echo "Databases kept by a restore (make restore-undo PREVIOUS=<name> brings one back; make restore-drop DATABASE=<name> removes it):"
    while read -r name; do printf '  %s\n' "$name"; done <<<"$kept"
  fi
}

# ---- the schedule --------------------------------------------------------------------------------
cmd_schedule() {
  local interval=${BACKUP_INTERVAL:-86400} delay=${BACKUP_START_DELAY:-300} retry=${BACKUP_RETRY_INTERVAL:-3600}
  for var in BACKUP_INTERVAL BACKUP_START_DELAY BACKUP_RETRY_INTERVAL; do
    [[ "${!var:-0}" =~ ^[0-9]+$ ]] || die "$var must be a number of seconds (got '${!var}')"
  done
  trap 'log "stopping"; exit 0' TERM INT
  if [ "$interval" = 0 ]; then log "BACKUP_INTERVAL=0: scheduled backups are off"; fi
  log "schedule: a backup when the newest verified one is ${interval} s old (first check in ${delay} s), retention ${BACKUP_KEEP_DAILY:-7}/${BACKUP_KEEP_WEEKLY:-4}/${BACKUP_KEEP_MONTHLY:-6} daily/weekly/monthly"
  local next_try=$(( $(date +%s) + delay )) age
  write_status start  # the newest backup's time, for monitoring from the start
  while :; do
    touch /tmp/backup-heartbeat
    if [ "$interval" != 0 ] && [ "$(date +%s)" -ge "$next_try" ]; then
      age=$(newest_age)
      if [ -z "$age" ] || [ "$age" -ge "$interval" ]; then
        # A process of its own: a failure is logged and retried later, never the end of the loop.
        if bash "$0" backup; then
          next_try=$(( $(date +%s) + 60 ))
        else
          log "error: the scheduled backup failed (above); the next attempt is in ${retry} s"
          next_try=$(( $(date +%s) + retry ))
        fi
      else
        next_try=$(( $(date +%s) + (interval - age < 60 ? interval - age : 60) ))
      fi
    fi
    sleep 15 & wait $! || true
  done
}

command=${1:-}
shift || true
case "$command" in
  backup) cmd_backup ;;
  verify) cmd_verify "$@" ;;
  prune) cmd_prune ;;
  list) cmd_list ;;
  status) cmd_status ;;
  schedule) cmd_schedule ;;
  restore-check) cmd_restore_check "$@" ;;
  restore-prepare) cmd_restore_prepare "$@" ;;
  restore-swap) cmd_restore_swap "$@" ;;
  undo) cmd_undo "$@" ;;
  drop) cmd_drop "$@" ;;
  *) die "usage: backup.sh backup|verify FILE|prune|list|status|schedule|restore-check FILE|restore-prepare FILE STAMP|restore-swap STAMP|undo NAME STAMP|drop NAME" ;;
esac
