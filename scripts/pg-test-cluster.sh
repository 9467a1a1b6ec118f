#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite, built from Debian's
# PostgreSQL binaries (the highest version under /usr/lib/postgresql).
#
#   scripts/pg-test-cluster.sh start    # init (if needed) and start; idempotent
#   scripts/pg-test-cluster.sh url      # print the DATABASE_URL of the owner role
#   scripts/pg-test-cluster.sh app-url  # print the URL of the application's role
#   scripts/pg-test-cluster.sh status   # exit 0 when running
#   scripts/pg-test-cluster.sh stop     # stop and delete the cluster
#
#   DATABASE_URL=$(scripts/pg-test-cluster.sh url) \
#   GERBANG_TEST_APP_DATABASE_URL=$(scripts/pg-test-cluster.sh app-url) make test
#
# Two roles, as in production: `gerbang` owns the tables (creates the test
# database, runs migrations); `gerbang_app` is what the application connects
# as: it owns nothing, so it cannot drop the audit log's triggers.
#
# Settings: PGTMP (folder for data, socket and log; default /tmp/gerbang-pg),
# PGPORT (TCP port on 127.0.0.1; default 54329).
#
# Durability is switched off (fsync, synchronous_commit, full_page_writes):
# fast, and fine for a cluster that is thrown away. Never use it for real data.
set -euo pipefail

PGTMP=${PGTMP:-/tmp/gerbang-pg}
PGPORT=${PGPORT:-54329}
DATA_DIR="$PGTMP/data"
SOCKET_DIR="$PGTMP"
LOG_FILE="$PGTMP/postgres.log"
MARKER="$PGTMP/.gerbang-pg-test-cluster"
DB_USER=gerbang
DB_PASSWORD=gerbang
DB_NAME=gerbang
APP_USER=gerbang_app
APP_PASSWORD=gerbang_app

die() {
    echo "pg-test-cluster: $*" >&2
    exit 1
}

find_bin_dir() {
    local dir
    dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$dir" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/initdb" ] \
        || die "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)"
    echo "$dir"
}

# initdb and postgres refuse to run as root: as root, run them as `postgres`.
# Run from inside $PGTMP so the server user never needs access to our cwd.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd "$PGTMP" && runuser -u postgres -- "$@")
    else
        (cd "$PGTMP" && "$@")
    fi
}

is_running() {
    [ -f "$DATA_DIR/PG_VERSION" ] || return 1
    as_pg "$BIN/pg_ctl" status -D "$DATA_DIR" >/dev/null 2>&1
}

psql_admin() {
    "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKET_DIR" -p "$PGPORT" -U postgres -d postgres "$@"
}

prepare_dir() {
    if [ -e "$PGTMP" ] && [ ! -f "$MARKER" ] && [ -n "$(ls -A "$PGTMP" 2>/dev/null)" ]; then
        die "$PGTMP exists, is not empty and is not a test cluster of ours; set PGTMP to another folder"
    fi
    mkdir -p "$PGTMP"
    touch "$MARKER"
    chmod 700 "$PGTMP"
    if [ "$(id -u)" -eq 0 ]; then
        getent passwd postgres >/dev/null \
            || die "running as root but there is no 'postgres' user (apt-get install postgresql)"
        chown -R postgres: "$PGTMP"
    fi
}

init_cluster() {
    echo "pg-test-cluster: initdb in $DATA_DIR ($BIN)"
    as_pg "$BIN/initdb" -D "$DATA_DIR" -U postgres --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 --nosync >"$PGTMP/initdb.log" 2>&1 \
        || { cat "$PGTMP/initdb.log" >&2; die "initdb failed"; }
    # Our settings live in their own file, rewritten at every start (the port
    # may change between runs).
    echo "include_if_exists = 'gerbang-test.conf'" >>"$DATA_DIR/postgresql.conf"
}

write_settings() {
    cat >"$DATA_DIR/gerbang-test.conf" <<EOF
# Written by scripts/pg-test-cluster.sh: a throwaway test cluster.
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$SOCKET_DIR'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$DATA_DIR/gerbang-test.conf"
    fi
}

ensure_role_and_database() {
    psql_admin <<EOF
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
        CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASSWORD';
    ELSE
        ALTER ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASSWORD';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$APP_USER') THEN
        CREATE ROLE $APP_USER LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$APP_PASSWORD';
    ELSE
        ALTER ROLE $APP_USER LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$APP_PASSWORD';
    END IF;
END
\$\$;
SELECT 'CREATE DATABASE $DB_NAME OWNER $DB_USER'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB_NAME')
\gexec
EOF
}

cmd_start() {
    prepare_dir
    if is_running; then
        echo "pg-test-cluster: already running ($PGTMP)"
    else
        [ -f "$DATA_DIR/PG_VERSION" ] || init_cluster
        write_settings
        if ! as_pg "$BIN/pg_ctl" start -D "$DATA_DIR" -l "$LOG_FILE" -w -t 60 >/dev/null; then
            echo "pg-test-cluster: could not start PostgreSQL; end of $LOG_FILE:" >&2
            tail -n 30 "$LOG_FILE" >&2 || true
            exit 1
        fi
        echo "pg-test-cluster: started on 127.0.0.1:$PGPORT ($PGTMP)"
    fi
    ensure_role_and_database
}

cmd_stop() {
    if is_running; then
        as_pg "$BIN/pg_ctl" stop -D "$DATA_DIR" -m fast -w -t 60 >/dev/null
        echo "pg-test-cluster: stopped"
    else
        echo "pg-test-cluster: not running"
    fi
    # Throwaway: delete it, but only a folder this script created.
    if [ -f "$MARKER" ]; then
        rm -rf "$PGTMP"
    fi
}

cmd_url() {
    echo "postgresql://$DB_USER:$DB_PASSWORD@127.0.0.1:$PGPORT/$DB_NAME"
}

cmd_app_url() {
    echo "postgresql://$APP_USER:$APP_PASSWORD@127.0.0.1:$PGPORT/$DB_NAME"
}

case "${1:-}" in
    start)
        BIN=$(find_bin_dir)
        cmd_start
        ;;
    stop)
        BIN=$(find_bin_dir)
        cmd_stop
        ;;
    status)
        BIN=$(find_bin_dir)
        if is_running; then
            echo "pg-test-cluster: running on 127.0.0.1:$PGPORT ($PGTMP)"
        else
            echo "pg-test-cluster: not running"
            exit 3
        fi
        ;;
    url)
        cmd_url
        ;;
    app-url)
        cmd_app_url
        ;;
    *)
        echo "usage: $0 start|stop|status|url|app-url" >&2
        exit 2
        ;;
esac
