#!/bin/sh
# Run once by the postgres image on a new data folder: the replica service may stream from it.
set -e
echo "host replication ${POSTGRES_USER} all scram-sha-256" >> "$PGDATA/pg_hba.conf"
