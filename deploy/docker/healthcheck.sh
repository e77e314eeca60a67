#!/bin/bash
# Container health probe without curl: GET http://127.0.0.1:<port><path> over bash's /dev/tcp
# and succeed on an HTTP 200 status line.
#   latentlabel-healthcheck [PATH] [PORT]
# PATH defaults to /readyz; PORT defaults to the port of LATENTLABEL_HTTP_ADDR (else 8080).
set -u
path="${1:-/readyz}"
addr="${LATENTLABEL_HTTP_ADDR:-0.0.0.0:8080}"
port="${2:-${addr##*:}}"
exec 3<>"/dev/tcp/127.0.0.1/${port}" || exit 1
printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$path" >&3
IFS= read -r -t 5 status <&3 || exit 1
exec 3<&-
case "$status" in
  "HTTP/1."?" 200"*) exit 0 ;;
  *) echo "unhealthy: ${status%$'\r'}" >&2; exit 1 ;;
esac
