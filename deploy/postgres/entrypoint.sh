#!/bin/sh
# Creates the cluster on first start, then runs PostgreSQL in the foreground.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "backlab-store: set POSTGRES_PASSWORD (the password of user backlab)" >&2
    exit 1
  fi
  pw=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pw"
  initdb -D "$PGDATA" -U backlab --pwfile="$pw" --auth=scram-sha-256 --encoding=UTF8 >/dev/null
  rm -f "$pw"
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  postgres -D "$PGDATA" -c listen_addresses='' >/dev/null 2>&1 &
  until pg_isready -q -h /var/run/postgresql; do sleep 0.2; done
  PGPASSWORD="$POSTGRES_PASSWORD" psql -q -h /var/run/postgresql -U backlab -d postgres -c 'CREATE DATABASE backlab'
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "backlab-store: created the cluster and database backlab" >&2
fi
exec postgres -D "$PGDATA"
