#!/bin/sh
# Write the server_name directive from ALLOWED_HOSTS (Django's comma-separated list) and
# ACME_DOMAINS, so Nginx and Django always agree on the hosts the site serves. Runs at start.
set -eu
# The names of ACME_DOMAINS are served too (Django adds them to its ALLOWED_HOSTS the same way).
names=$(printf '%s' "${ALLOWED_HOSTS:-localhost,127.0.0.1}${ACME_DOMAINS:+,$ACME_DOMAINS}" | tr ',' ' ')
case " $names " in
  *" * "*) names="~^.*\$" ;;  # "*" in ALLOWED_HOSTS: any host (then no host is dropped here)
esac
printf 'server_name %s;\n' "$names" > /etc/nginx/conf.d/server_names.inc
echo "$0: server_name $names"
