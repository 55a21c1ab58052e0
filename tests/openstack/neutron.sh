#!/usr/bin/env bash
# Brings up (and tears down) a real OpenStack Neutron API server with networking-sfc, for the
# integration tests that drive qdp from Neutron's SFC resources. Nothing else of OpenStack runs:
# no Keystone (auth_strategy = noauth), no agents, no message bus (transport_url = fake:/), and
# the SFC and flow-classifier service plugins use their "dummy" drivers, so the API stores and
# validates port chains, port pair groups, port pairs and flow classifiers and nothing more.
#
#   tests/openstack/neutron.sh up          start MariaDB + the Neutron API under a fresh run dir
#                                          (an old one is stopped and replaced); returns once
#                                          GET /v2.0/sfc/port_chains answers 200
#   tests/openstack/neutron.sh api-stop    stop only the API (the database stays), return once
#                                          its port is closed: a Neutron outage for the tests
#   tests/openstack/neutron.sh api-start   start the API again, return once it answers
#   tests/openstack/neutron.sh down        stop everything, remove the run dir
#   tests/openstack/neutron.sh env         print `export` lines for eval (OS_AUTH_TYPE,
#                                          OS_ENDPOINT, PATH with the venv's bin first)
#   tests/openstack/neutron.sh openstack ARGS...
#                                          run the venv's `openstack` CLI against this API
#
# Environment:
#   QDP_OS_RUN       run dir (default /run/qdpt-neutron): config, database files, logs, pids
#   QDP_OS_VENV      Python venv with neutron + networking-sfc (default <repo>/target/openstack-venv);
#                    created (pip install) when missing
#   QDP_OS_API_PORT  API port on 127.0.0.1 (default 9696)
#   QDP_OS_DB_PORT   first MariaDB port to try on 127.0.0.1 (default 13306; the next free one
#                    up to +99 is used when it is taken)
#   QDP_OS_TIMEOUT   seconds to wait for each daemon to answer (default 120)
#   QDP_OS_PYTHON    interpreter the venv is created from (default python3)
#   QDP_OS_SCHEMA_CACHE  1 (default): reuse a dump of the migrated schema kept in the venv
#                    (qdp-neutron-schema-<versions>.sql) instead of running the ~10 s of
#                    migrations on every `up`; 0: always run neutron-db-manage
#
# Layout of the run dir:
#   neutron.conf        the single Neutron config file (ML2 + SFC sections included)
#   neutron-api.py      the WSGI launcher (wsgiref + threads serving neutron.wsgi.api)
#   neutron-api.log     the API's log (Neutron's own logging and one line per request)
#   neutron-api.pid     the API's pid
#   db-manage.log       output of `neutron-db-manage upgrade heads` (or of loading the cached
#                       schema dump)
#   mysql/              MariaDB's private data dir; mysql.sock its socket
#   mariadb.log         MariaDB's log;  mariadb.pid its pid;  db-port the TCP port it listens on
#
# The script takes no lock of its own: callers that share the stack (the tests) serialize with a
# flock they hold themselves, which is why daemons are started with every fd above 2 closed.
# Needs root for the default run dir and for apt-get (sudo is used when not root).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN=${QDP_OS_RUN:-/run/qdpt-neutron}
VENV=${QDP_OS_VENV:-$REPO/target/openstack-venv}
API_HOST=127.0.0.1
API_PORT=${QDP_OS_API_PORT:-9696}
DB_PORT_BASE=${QDP_OS_DB_PORT:-13306}
TIMEOUT=${QDP_OS_TIMEOUT:-120}
PYTHON=${QDP_OS_PYTHON:-python3}
ENDPOINT="http://$API_HOST:$API_PORT"
# The URL whose 200 means "the API is up with networking-sfc loaded".
PROBE_URL="$ENDPOINT/v2.0/sfc/port_chains"
# Packages of the venv, and a marker written once they are known to import.
PIP_PKGS=(neutron networking-sfc python-openstackclient PyMySQL)
VENV_MARK="$VENV/.qdp-neutron-ready"

# mariadbd and mysql_install_db live in /usr/sbin and /usr/bin; make sure both are searched even
# when the caller's PATH is minimal.
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

die() { echo "neutron.sh: $*" >&2; exit 1; }

# Prints the last lines of a log to stderr, framed, so a failure says why without digging.
show_log() {
  local f=$1 n=${2:-40}
  [ -f "$f" ] || return 0
  echo "---- last $n lines of $f ----" >&2
  tail -n "$n" "$f" >&2 || true
  echo "---- end of $f ----" >&2
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Microseconds since the epoch (bash 5's clock, no subprocess).
now_us() { echo "${EPOCHREALTIME/[.,]/}"; }

# ---------------------------------------------------------------------------------------------
# Prerequisites: MariaDB's server binaries and the Python venv.

ensure_mariadb() {
  command -v mariadbd >/dev/null && command -v mysql_install_db >/dev/null && return 0
  echo "neutron.sh: installing mariadb-server" >&2
  as_root apt-get update -qq
  # The package's own service may or may not start (there is no systemd here); ours never uses
  # it: it has its own data dir, socket and port.
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends mariadb-server >/dev/null
  command -v mariadbd >/dev/null || die "mariadb-server installed but mariadbd not found"
}

ensure_venv() {
  [ -f "$VENV_MARK" ] && [ -x "$VENV/bin/openstack" ] && return 0
  # A venv made by hand (or by an older run) that already has everything only gets its marker.
  if [ -x "$VENV/bin/python" ] && [ -x "$VENV/bin/openstack" ] && [ -x "$VENV/bin/neutron-db-manage" ] \
     && "$VENV/bin/python" -W ignore -c 'import neutron.wsgi, networking_sfc, pymysql' 2>/dev/null; then
    touch "$VENV_MARK"
    return 0
  fi
  echo "neutron.sh: creating $VENV (pip install ${PIP_PKGS[*]}; takes a few minutes)" >&2
  if [ ! -x "$VENV/bin/python" ]; then
    mkdir -p "$(dirname "$VENV")"
    if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
      # Debian's python3 ships venv/ensurepip separately.
      rm -rf "$VENV"
      as_root apt-get update -qq
      as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
      "$PYTHON" -m venv "$VENV"
    fi
  fi
  "$VENV/bin/pip" install -q --disable-pip-version-check "${PIP_PKGS[@]}"
  "$VENV/bin/python" -W ignore -c 'import neutron.wsgi, networking_sfc, pymysql' \
    || die "the venv $VENV still cannot import neutron/networking_sfc/pymysql"
  touch "$VENV_MARK"
}

# ---------------------------------------------------------------------------------------------
# Process helpers.

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# HTTP status of a GET (000 when nothing answers). Short timeouts: it is polled.
http_status() {
  curl -s -o /dev/null -w '%{http_code}' --connect-timeout 1 --max-time 5 "$1" 2>/dev/null || true
}

# True when pid $1 is alive and its command line contains $2 (guards against a recycled pid
# from an old run dir being signalled).
pid_is() {
  local pid=$1 want=$2
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$want"
}

read_pid() { [ -f "$1" ] && tr -dc '0-9' <"$1" || true; }

# Starts "$@" as a daemon: in its own session (setsid), immune to SIGHUP (nohup), stdin from
# /dev/null, stdout+stderr appended to log $1, and with every fd above 2 closed, so that no lock
# or pipe the caller holds stays open in it. Sets DAEMON_PID.
# The background subshell is not a process-group leader (a script has no job control), so
# setsid does not fork and $! is the daemon's own pid.
spawn() {
  local log=$1; shift
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi
    done
    exec setsid nohup "$@" </dev/null >>"$log" 2>&1
  ) &
  DAEMON_PID=$!
}

# True while pid $1 is a zombie: dead (its fds and sockets are released, its command line is
# empty) but not yet reaped. Daemons outlive the script that started them, so their parent is
# PID 1, which here reaps only now and then.
is_zombie() { [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" = Z ]; }

# Sends SIGTERM to pid $1 (if it is still the process named by $2), waits up to $3 seconds for it
# to exit, then SIGKILLs it. Returns once it is dead (possibly still a zombie, which holds no
# fds, sockets or files any more).
stop_pid() {
  local pid=$1 want=$2 grace=${3:-20} i
  pid_is "$pid" "$want" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    pid_is "$pid" "$want" || break
    sleep 0.1
  done
  if pid_is "$pid" "$want"; then
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      pid_is "$pid" "$want" || break
      sleep 0.1
    done
    pid_is "$pid" "$want" && die "pid $pid ($want) does not die"
  fi
  return 0
}

# Pids of processes whose command line mentions the run dir (ours, even if pid files are gone),
# excluding this script and its subshells.
run_dir_pids() {
  local p
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$p" = "$$" ] && continue
    [ "$p" = "$BASHPID" ] && continue
    if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$RUN/"; then
      # Skip other instances of this script (e.g. a concurrent `env`): only daemons count.
      tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "neutron.sh" && continue
      echo "$p"
    fi
  done
}

# ---------------------------------------------------------------------------------------------
# MariaDB.

db_port() { cat "$RUN/db-port"; }

mysql_root() { mariadb --no-defaults --socket="$RUN/mysql.sock" -uroot "$@"; }

start_db() {
  local port=$DB_PORT_BASE i
  # A free TCP port: the first of QDP_OS_DB_PORT.. that nothing listens on.
  while port_open "$port"; do
    port=$((port + 1))
    [ "$port" -lt $((DB_PORT_BASE + 100)) ] || die "no free port for MariaDB from $DB_PORT_BASE"
  done
  echo "$port" >"$RUN/db-port"

  mkdir -p "$RUN/mysql" "$RUN/tmp"
  local user=(); [ "$(id -u)" = 0 ] && user=(--user=root)
  # --no-defaults: nothing from /etc/mysql (the system server's config) applies to ours.
  # --auth-root-authentication-method=normal: root@localhost gets a (empty) password login rather
  # than unix_socket auth, so PyMySQL can connect as root over TCP.
  if ! mysql_install_db --no-defaults "${user[@]}" --datadir="$RUN/mysql" \
       --auth-root-authentication-method=normal --skip-test-db >>"$RUN/mariadb.log" 2>&1; then
    show_log "$RUN/mariadb.log"; die "mysql_install_db failed"
  fi

  # Sized for a test box: small caches (the buffer pool, Aria's page cache that the system
  # tables use, MyISAM's key buffer), no performance schema, and no fsync per commit (the data
  # dir lives on tmpfs under /run and is thrown away anyway).
  spawn "$RUN/mariadb.log" mariadbd --no-defaults "${user[@]}" \
    --datadir="$RUN/mysql" --socket="$RUN/mysql.sock" --pid-file="$RUN/mariadb.pid" \
    --tmpdir="$RUN/tmp" --bind-address=127.0.0.1 --port="$port" \
    --log-error="$RUN/mariadb.log" --skip-name-resolve \
    --innodb-buffer-pool-size=32M --innodb-log-file-size=16M --innodb-log-buffer-size=4M \
    --aria-pagecache-buffer-size=8M --key-buffer-size=4M \
    --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
    --performance-schema=OFF --max-connections=200 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci
  echo "$DAEMON_PID" >"$RUN/mariadb.pid"
  local pid=$DAEMON_PID

  # Up when it answers on its socket.
  for ((i = 0; i < TIMEOUT * 10; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then show_log "$RUN/mariadb.log"; die "mariadbd exited"; fi
    mysql_root -e 'SELECT 1' >/dev/null 2>&1 && break
    sleep 0.1
  done
  mysql_root -e 'SELECT 1' >/dev/null 2>&1 || { show_log "$RUN/mariadb.log"; die "mariadbd did not answer in ${TIMEOUT}s"; }
  # (mariadbd has meanwhile rewritten mariadb.pid itself, with the same pid: it does not fork.)

  mysql_root -e 'CREATE DATABASE neutron CHARACTER SET utf8mb4' \
    || { show_log "$RUN/mariadb.log"; die "cannot create database neutron"; }
}

stop_db() {
  stop_pid "$(read_pid "$RUN/mariadb.pid")" "mariadbd" 30
}

# ---------------------------------------------------------------------------------------------
# Neutron: config, schema, API launcher.

write_config() {
  cat >"$RUN/neutron.conf" <<EOF
# Written by tests/openstack/neutron.sh: Neutron API only, for tests.
[DEFAULT]
# No Keystone: a request without X-Project-Id runs as an admin of project "fake_project_id"
# (clients: OS_AUTH_TYPE=none, OS_ENDPOINT=$ENDPOINT, and no project settings).
auth_strategy = noauth
core_plugin = ml2
service_plugins = flow_classifier,sfc
# No message bus and no agents: RPC casts/notifications go to oslo.messaging's fake driver.
transport_url = fake:/
dhcp_agent_notification = false
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
api_paste_config = $VENV/etc/neutron/api-paste.ini
bind_host = $API_HOST
bind_port = $API_PORT
state_path = $RUN/state
host = qdp-test
debug = false

[database]
connection = mysql+pymysql://root@127.0.0.1:$(db_port)/neutron
max_pool_size = 10
max_overflow = 20

[oslo_concurrency]
lock_path = $RUN/lock

[oslo_policy]
policy_file = $RUN/policy.yaml

[ml2]
# Provider networks only: flat on any physnet, vlan on physnet1, vxlan with an explicit VNI.
# No tenant network types (a network created without --provider-* attributes is refused with
# 503 "No project network is available") and no mechanism driver, so ports are stored but
# never bound: binding:vif_type is "unbound" without binding:host_id and "binding_failed" with
# it (the create still succeeds; the API log shows "Failed to bind port" errors, harmless).
type_drivers = flat,vlan,vxlan
tenant_network_types =
mechanism_drivers =
extension_drivers = port_security

[ml2_type_flat]
flat_networks = *

[ml2_type_vlan]
network_vlan_ranges = physnet1:100:199

[ml2_type_vxlan]
vni_ranges = 1000:1999

[sfc]
drivers = dummy

[flowclassifier]
drivers = dummy
EOF
  mkdir -p "$RUN/state" "$RUN/lock"

  # Policy overrides. Under noauth every request is an elevated admin context, and admin may do
  # everything except what Neutron's defaults reserve to the "service" role (Nova's): setting
  # binding:profile on a port (and the port-binding sub-resource). Tests set binding:profile
  # themselves, so admin may too.
  cat >"$RUN/policy.yaml" <<'POLICY'
"create_port:binding:profile": "rule:admin_only or rule:service_api"
"update_port:binding:profile": "rule:admin_only or rule:service_api"
"create_port_binding": "rule:admin_only or rule:service_api"
"delete_port_binding": "rule:admin_only or rule:service_api"
"activate": "rule:admin_only or rule:service_api"
POLICY
}

# The schema cache: the database right after `upgrade heads` (schema plus the few rows the
# migrations insert, alembic's version tables included), dumped once per set of installed
# neutron / neutron-lib / networking-sfc versions. Loading it takes about a second, the
# migrations about ten. It lives in the venv, so a rebuilt venv starts without one.
schema_cache() {
  local key
  key=$(cd "$VENV" && ls -d lib/python3*/site-packages/{neutron,neutron_lib,networking_sfc}-*.dist-info \
          2>/dev/null | sed 's#.*/##' | sort | md5sum | cut -c1-12) || true
  echo "$VENV/qdp-neutron-schema-$key.sql"
}

migrate_db() {
  local cache
  cache=$(schema_cache)
  if [ "${QDP_OS_SCHEMA_CACHE:-1}" != 0 ] && [ -s "$cache" ]; then
    echo "loading $cache" >"$RUN/db-manage.log"
    if mysql_root neutron <"$cache" >>"$RUN/db-manage.log" 2>&1; then
      return 0
    fi
    # A bad dump: forget it, start from an empty database and migrate for real.
    echo "loading the cached schema failed; running the migrations" >>"$RUN/db-manage.log"
    rm -f "$cache"
    mysql_root -e 'DROP DATABASE neutron; CREATE DATABASE neutron CHARACTER SET utf8mb4' \
      || { show_log "$RUN/db-manage.log"; die "cannot recreate database neutron"; }
  fi
  if ! "$VENV/bin/neutron-db-manage" --config-file "$RUN/neutron.conf" upgrade heads \
       >>"$RUN/db-manage.log" 2>&1; then
    show_log "$RUN/db-manage.log"; die "neutron-db-manage upgrade heads failed"
  fi
  [ "${QDP_OS_SCHEMA_CACHE:-1}" != 0 ] || return 0
  # Written under a temporary name and renamed, so that a concurrent or interrupted `up` never
  # sees half a dump. Failing to write it only costs the next `up` the migrations again.
  if mariadb-dump --no-defaults --socket="$RUN/mysql.sock" -uroot --single-transaction \
       --routines --triggers --skip-comments --skip-dump-date neutron >"$cache.tmp.$$" 2>>"$RUN/db-manage.log"; then
    mv -f "$cache.tmp.$$" "$cache"
  else
    rm -f "$cache.tmp.$$"
  fi
}

# The API launcher. Neutron 29 has no neutron-server binary: the API is the WSGI application
# neutron.wsgi.api:application, which reads --config-file from sys.argv when imported. It is
# served by wsgiref with one thread per request (no extra packages needed).
write_launcher() {
  cat >"$RUN/neutron-api.py" <<'EOF'
"""Serves neutron.wsgi.api:application on HOST:PORT (argv[1], argv[2]); the remaining
arguments (--config-file ...) are what Neutron reads from sys.argv when it is imported."""
import os
import socketserver
import sys
import time
from wsgiref import simple_server

host, port = sys.argv[1], int(sys.argv[2])
pidfile = sys.argv[3]
sys.argv = [sys.argv[0]] + sys.argv[4:]

started = time.monotonic()
from neutron.wsgi.api import application  # noqa: E402  (loads config, plugins, extensions)


class Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class Handler(simple_server.WSGIRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))
        sys.stderr.flush()


httpd = simple_server.make_server(host, port, application,
                                  server_class=Server, handler_class=Handler)
with open(pidfile, "w") as f:
    f.write("%d\n" % os.getpid())
sys.stderr.write("neutron-api: serving http://%s:%d/ (pid %d, loaded in %.1fs)\n"
                 % (host, port, os.getpid(), time.monotonic() - started))
sys.stderr.flush()
httpd.serve_forever()
EOF
}

api_pid() { read_pid "$RUN/neutron-api.pid"; }

start_api() {
  local i code pid
  [ -f "$RUN/neutron.conf" ] || die "no $RUN/neutron.conf: run '$0 up' first"
  # Already up (ours)? Nothing to do.
  if pid_is "$(api_pid)" "$RUN/neutron-api.py" && [ "$(http_status "$PROBE_URL")" = 200 ]; then
    return 0
  fi
  port_open "$API_PORT" && die "something else listens on $API_HOST:$API_PORT"
  spawn "$RUN/neutron-api.log" "$VENV/bin/python" "$RUN/neutron-api.py" \
    "$API_HOST" "$API_PORT" "$RUN/neutron-api.pid" --config-file "$RUN/neutron.conf"
  pid=$DAEMON_PID
  echo "$pid" >"$RUN/neutron-api.pid"
  for ((i = 0; i < TIMEOUT * 5; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then show_log "$RUN/neutron-api.log"; die "the Neutron API exited"; fi
    code=$(http_status "$PROBE_URL")
    [ "$code" = 200 ] && return 0
    sleep 0.2
  done
  show_log "$RUN/neutron-api.log"
  die "the Neutron API did not answer 200 on $PROBE_URL in ${TIMEOUT}s (last status $code)"
}

stop_api() {
  local i
  stop_pid "$(api_pid)" "$RUN/neutron-api.py" 20
  rm -f "$RUN/neutron-api.pid"
  # Returns once the port is closed (no lingering listener, e.g. of a process we did not know).
  for ((i = 0; i < 100; i++)); do
    port_open "$API_PORT" || return 0
    sleep 0.1
  done
  die "$API_HOST:$API_PORT still open after stopping the API"
}

# ---------------------------------------------------------------------------------------------
# Whole-stack operations.

# Stops whatever an earlier run left: by pid file first (API, then database), then anything
# else whose command line still names the run dir.
stop_all() {
  local p
  [ -d "$RUN" ] || return 0
  stop_pid "$(api_pid)" "$RUN/neutron-api.py" 20
  stop_db
  for p in $(run_dir_pids); do
    stop_pid "$p" "$RUN/" 10
  done
}

# Waits (at most 2 s, best effort) until PID 1 has reaped the given dead daemons, so that `down`
# normally leaves nothing at all in ps.
wait_reaped() {
  local pid i
  for pid in "$@"; do
    [ -n "$pid" ] || continue
    for ((i = 0; i < 20; i++)); do
      is_zombie "$pid" || break
      sleep 0.1
    done
  done
}

cmd_up() {
  local t0 ms
  t0=$(now_us)
  ensure_mariadb
  ensure_venv
  stop_all
  # The run dir must be ours to remove: refuse anything that does not look like one.
  case "$RUN" in /|/run|/tmp|/var|/root|"") die "refusing run dir '$RUN'";; esac
  rm -rf "$RUN"
  # Fail before starting anything when the API's port belongs to someone else.
  port_open "$API_PORT" && die "something else listens on $API_HOST:$API_PORT"
  mkdir -p "$RUN"
  start_db
  write_config
  migrate_db
  write_launcher
  start_api
  ms=$((($(now_us) - t0) / 1000))
  printf 'neutron up in %d.%01ds: %s (run dir %s)\n' $((ms / 1000)) $((ms % 1000 / 100)) \
    "$ENDPOINT" "$RUN" >&2
}

cmd_down() {
  local pids=()
  pids=("$(api_pid)" "$(read_pid "$RUN/mariadb.pid")")
  stop_all
  wait_reaped "${pids[@]}"
  case "$RUN" in /|/run|/tmp|/var|/root|"") die "refusing run dir '$RUN'";; esac
  rm -rf "$RUN"
}

cmd_env() {
  echo "export OS_AUTH_TYPE=none"
  echo "export OS_ENDPOINT=$ENDPOINT"
  echo "export PATH=\"$VENV/bin:\$PATH\""
}

cmd_openstack() {
  [ -x "$VENV/bin/openstack" ] || die "no $VENV/bin/openstack: run '$0 up' first"
  # Only this endpoint: other OS_* settings of the caller (a cloud, a project, a token) would
  # make the client try Keystone or send X-Project-Id, and under noauth a request with a
  # project header runs as a plain (non-admin) member of that project instead of as admin.
  local v
  for v in $(compgen -e | grep '^OS_' || true); do unset "$v"; done
  OS_AUTH_TYPE=none OS_ENDPOINT=$ENDPOINT PATH="$VENV/bin:$PATH" exec "$VENV/bin/openstack" "$@"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  api-stop) stop_api ;;
  api-start) start_api ;;
  env) cmd_env ;;
  openstack) shift; cmd_openstack "$@" ;;
  *) # Usage: the command list from the header above.
     sed -n '/^#   tests\/openstack\/neutron.sh up/,/^#$/p' "$0" | sed 's/^#//' >&2
     exit 2 ;;
esac
