#!/bin/sh
# Where Nginx sends the app's requests, in two small files `make deploy` rewrites before a reload
# (scripts/deploy.py): upstream.inc sets $web_upstream (by default web:8000, looked up in
# Docker's DNS at request time); pool.inc may hold an upstream block it names, which pins the
# traffic to given containers while old and new ones run side by side. Runs at container start.
set -eu
# shellcheck disable=SC2016  # $web_upstream is Nginx's variable
printf 'set $web_upstream http://%s;\n' "${NGINX_UPSTREAM:-web:8000}" > /etc/nginx/conf.d/upstream.inc
: > /etc/nginx/conf.d/pool.inc
echo "$0: the app at ${NGINX_UPSTREAM:-web:8000}"
