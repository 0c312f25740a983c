#!/bin/sh
# Write who may reach /admin/ from ADMIN_ALLOWED_NETWORKS (comma-separated addresses or CIDR
# ranges, e.g. "10.0.0.0/8,203.0.113.7"): empty (the default) lets anyone reach the login page,
# which is rate-limited either way. Runs at container start; a malformed entry stops it.
set -eu
out=${ADMIN_ACCESS_FILE:-/etc/nginx/conf.d/admin_access.inc}
networks=$(printf '%s' "${ADMIN_ALLOWED_NETWORKS:-}" | tr ',' ' ')
: > "$out"
if [ -z "$(printf '%s' "$networks" | tr -d ' ')" ]; then
  echo "$0: /admin/ open to any address (ADMIN_ALLOWED_NETWORKS is empty)"
  exit 0
fi
for network in $networks; do
  case "$network" in
    *[!0-9a-fA-F.:/]* | "")
      echo "$0: error: ADMIN_ALLOWED_NETWORKS: '$network' is not an address or a CIDR range" >&2
      exit 1 ;;
  esac
  printf 'allow %s;\n' "$network" >> "$out"
done
printf 'deny all;\n' >> "$out"
echo "$0: /admin/ only from $networks"
