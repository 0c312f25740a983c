#!/usr/bin/env bash
# Runs once, when the database volume is first initialised (docker-entrypoint-initdb.d): creates
# the role the app connects as. It owns the app's database and nothing else; it is not a
# superuser and cannot create roles or databases. The superuser (POSTGRES_USER) stays for
# administration and for the test runner, which creates a throwaway test database.
set -euo pipefail
: "${DATABASE_USER:?DATABASE_USER is not set}"
password="${DATABASE_PASSWORD:-}"
if [ -n "${DATABASE_PASSWORD_FILE:-}" ]; then password="$(<"$DATABASE_PASSWORD_FILE")"; fi
: "${password:?DATABASE_PASSWORD (or DATABASE_PASSWORD_FILE) is not set}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     --set role="$DATABASE_USER" --set password="$password" --set db="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'password';
ALTER DATABASE :"db" OWNER TO :"role";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"role";
SQL
echo "created role $DATABASE_USER, owner of database $POSTGRES_DB"
