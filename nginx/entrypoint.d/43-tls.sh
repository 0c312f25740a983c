#!/bin/sh
# Which certificate Nginx serves, and the switch to a new one without a restart. Runs at start;
# `43-tls.sh check` does one round of the watcher now (make up, after the first issuance).
#
# ACME off (ACME_DOMAINS empty): the pair at /etc/nginx/tls/ (TLS_CERT_FILE / TLS_KEY_FILE, by
# default make certs' self-signed one), as always.
# ACME on: that pair until the acme service has written its first certificate to
# /etc/nginx/acme/tls.pem (key and chain in one file, replaced by a rename), then that one. A
# watcher started here looks at the file every TLS_WATCH_INTERVAL seconds (5) and, when it has
# changed and `nginx -t` accepts it, reloads Nginx: a new or renewed certificate is served within
# seconds, and a reload finishes the connections in flight instead of dropping them. A file Nginx
# refuses leaves the previous certificate in place, and says so once.
set -eu
acme=/etc/nginx/acme/tls.pem
inc=/etc/nginx/conf.d/tls.inc
state=/etc/nginx/conf.d/tls.serving
lock=/run/tls-check.lock

use_files() { printf 'ssl_certificate /etc/nginx/tls/cert.pem;\nssl_certificate_key /etc/nginx/tls/key.pem;\n' > "$inc"; }
use_acme() { printf 'ssl_certificate %s;\nssl_certificate_key %s;\n' "$acme" "$acme" > "$inc"; }

# The master's child processes (workers, cache helpers), by pid: a reload starts new ones.
children() {
  master=$(cat /run/nginx.pid 2>/dev/null) || return 0
  for stat in /proc/[0-9]*/stat; do
    read -r pid _ _ ppid _ < "$stat" 2>/dev/null || continue
    [ "$ppid" = "$master" ] && echo "$pid"
  done
  return 0
}

# Reload, and return once the new configuration serves: its workers have started (the master then
# tells the old ones, within 100 ms, to stop taking connections and finish the ones they have).
reload() {
  before=" $(children | tr '\n' ' ') "
  # Quiet unless it fails (it says "signal process started" each time).
  out=$(nginx -s reload 2>&1) || { printf '%s\n' "$out" >&2; return 1; }
  tries=0
  while [ "$tries" -lt 100 ]; do
    for pid in $(children); do
      case "$before" in *" $pid "*) ;; *) sleep 0.3; return 0 ;; esac
    done
    tries=$((tries + 1))
    sleep 0.1
  done
  echo "$0: warning: no new Nginx worker 10 s after the reload" >&2
}

# One round: if the ACME file differs from the one last applied, apply it ($1: reload or not).
apply() {
  [ -f "$acme" ] || return 0  # no ACME certificate yet
  sum=$(cksum < "$acme") || return 0
  [ "$sum" = "$(cat "$state" 2>/dev/null || true)" ] && return 0
  cp "$inc" "$inc.previous"
  use_acme
  if out=$(nginx -t 2>&1); then
    if [ "$1" = reload ] && ! reload; then
      mv "$inc.previous" "$inc"  # tried again at the next round
      return 1
    fi
    printf '%s\n' "$sum" > "$state"
    echo "$0: serving the ACME certificate ($acme, cksum ${sum%% *})${1:+, Nginx $1ed}"
  else
    mv "$inc.previous" "$inc"
    printf '%s\n' "$sum" > "$state"  # the same file is not tried again; a new one will be
    echo "$0: error: Nginx refuses the new ACME certificate, still serving the previous one: $(printf '%s\n' "$out" | grep -m 1 emerg || printf '%s' "$out" | tail -n 1)" >&2
  fi
}

# Runs of the watcher and of `check` take turns (mkdir is atomic); a stale lock goes after 60 s.
locked() {
  tries=0
  until mkdir "$lock" 2>/dev/null; do
    tries=$((tries + 1))
    if [ "$tries" -ge 600 ]; then rmdir "$lock" 2>/dev/null || true; tries=0; fi
    sleep 0.1
  done
  rc=0; "$@" || rc=$?
  rmdir "$lock"
  return "$rc"
}

if [ "${1:-}" = check ]; then
  [ -n "${ACME_DOMAINS:-}" ] || { echo "$0: ACME is off (ACME_DOMAINS is empty)" >&2; exit 1; }
  locked apply reload
  exit 0
fi

use_files
if [ -z "${ACME_DOMAINS:-}" ]; then
  echo "$0: serving /etc/nginx/tls/cert.pem (ACME off)"
  exit 0
fi
rm -f "$state"
apply ""
[ -f "$state" ] || echo "$0: serving /etc/nginx/tls/cert.pem until the acme service has a certificate for ${ACME_DOMAINS}"
interval=${TLS_WATCH_INTERVAL:-5}
( while sleep "$interval"; do locked apply reload || true; done ) &
echo "$0: watching $acme every ${interval} s"
