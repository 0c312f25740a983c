#!/bin/sh
# The database's roles, made to match the environment on every `make up` (the db-roles job), so
# that new and existing volumes end up the same way and a changed password takes effect:
#   DATABASE_OWNER_USER (app_owner): owns the database, its schema and every table; only the
#     migrate job connects as it.
#   DATABASE_USER (app): the runtime role web and the scheduler connect as: rows only (SELECT,
#     INSERT, UPDATE, DELETE), so SQL injected anywhere in the app cannot DROP, ALTER or CREATE.
#     Default privileges cover the tables later migrations create.
#   DATABASE_MONITOR_USER (app_monitor), when DATABASE_MONITOR_PASSWORD is set: the PostgreSQL
#     exporter's (monitoring profile): pg_monitor's statistics, CONNECT, and no table privileges.
# None is a superuser or can create roles or databases. The superuser (POSTGRES_USER) runs this
# and stays for administration and for the test runner. Passwords travel in the environment of
# this short-lived job (or in *_FILE files), never on a command line, and the long-running db
# container never holds the app's.
set -eu

secret() {  # the value of $1, or the contents of the file named by ${1}_FILE
  eval "value=\${$1:-}"
  eval "file=\${$1_FILE:-}"
  if [ -n "$file" ]; then value=$(cat "$file"); fi
  if [ -z "$value" ]; then echo "db-roles: error: $1 (or $1_FILE) is not set" >&2; exit 1; fi
  printf '%s' "$value"
}

: "${DATABASE_USER:?DATABASE_USER is not set}"
: "${DATABASE_OWNER_USER:?DATABASE_OWNER_USER is not set}"
if [ "$DATABASE_USER" = "$DATABASE_OWNER_USER" ]; then
  echo "db-roles: error: DATABASE_USER and DATABASE_OWNER_USER must differ" >&2
  exit 1
fi
PGPASSWORD=$(secret POSTGRES_PASSWORD)
RUNTIME_PASSWORD=$(secret DATABASE_PASSWORD)
OWNER_PASSWORD=$(secret DATABASE_OWNER_PASSWORD)
MONITOR_PASSWORD=
if [ -n "${DATABASE_MONITOR_PASSWORD:-}${DATABASE_MONITOR_PASSWORD_FILE:-}" ]; then MONITOR_PASSWORD=$(secret DATABASE_MONITOR_PASSWORD); fi
export PGPASSWORD RUNTIME_PASSWORD OWNER_PASSWORD MONITOR_PASSWORD

psql -v ON_ERROR_STOP=1 --quiet --no-psqlrc --host "${PGHOST:-db}" --username "$POSTGRES_USER" \
     --dbname "$POSTGRES_DB" --set runtime="$DATABASE_USER" --set owner="$DATABASE_OWNER_USER" \
     --set db="$POSTGRES_DB" --set monitor="${DATABASE_MONITOR_USER:-app_monitor}" \
     --set with_monitor="$([ -n "$MONITOR_PASSWORD" ] && echo true || echo false)" <<'SQL'
\getenv runtime_password RUNTIME_PASSWORD
\getenv owner_password OWNER_PASSWORD
\getenv monitor_password MONITOR_PASSWORD
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'owner') AS new_owner,
       NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'runtime') AS new_runtime \gset
\if :new_owner
CREATE ROLE :"owner";
\endif
\if :new_runtime
CREATE ROLE :"runtime";
\endif
ALTER ROLE :"owner" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'owner_password';
ALTER ROLE :"runtime" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'runtime_password';
BEGIN;
-- An earlier layout had the app's one role own everything: hand it all to the owner.
REASSIGN OWNED BY :"runtime" TO :"owner";
ALTER DATABASE :"db" OWNER TO :"owner";
ALTER SCHEMA public OWNER TO :"owner";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"owner", :"runtime";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM :"runtime";
GRANT USAGE ON SCHEMA public TO :"runtime";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"runtime";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"runtime";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"runtime";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO :"runtime";
COMMIT;
\if :with_monitor
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'monitor') AS new_monitor \gset
\if :new_monitor
CREATE ROLE :"monitor";
\endif
ALTER ROLE :"monitor" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  CONNECTION LIMIT 3 PASSWORD :'monitor_password';
GRANT pg_monitor TO :"monitor";
GRANT CONNECT ON DATABASE :"db" TO :"monitor";
\endif
SQL
echo "db-roles: $DATABASE_OWNER_USER owns database $POSTGRES_DB; $DATABASE_USER has row privileges only${MONITOR_PASSWORD:+; ${DATABASE_MONITOR_USER:-app_monitor} reads statistics (pg_monitor)}"
