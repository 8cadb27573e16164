#!/usr/bin/env bash
# A one-node Slurm cluster on this Debian machine, for the tests and for trying `reproduce --executor slurm`.
#
#   bash scripts/slurm-local.sh start    # install slurm-wlm + munge if missing, write slurm.conf, start the daemons
#   bash scripts/slurm-local.sh status   # which daemons run; exit 0 only when the cluster answers
#   bash scripts/slurm-local.sh stop     # stop slurmd, slurmctld and munged (and wait until they are gone)
#
# Needs root. It refuses a machine whose slurm.conf it did not write (the marker line below). There is no
# accounting database, so `sacct` is disabled: read finished jobs with `squeue -t all` (kept for an hour,
# MinJobAge=3600) or `scontrol show job`. See docs/CLUSTER.md.
set -euo pipefail

MARKER="# Written by explaind-swift scripts/slurm-local.sh (a one-node test cluster); safe to remove with it."
CONF=/etc/slurm/slurm.conf
SPOOL=/var/spool/slurm-local
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
MUNGE_PID=/run/munge/munged.pid

die() { echo "slurm-local: $*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "run as root (it writes /etc/slurm and starts daemons)"; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

ours() { [ -f "$CONF" ] && grep -qxF "$MARKER" "$CONF"; }

refuse_foreign() {
  if [ -f "$CONF" ] && ! ours; then
    die "$CONF exists and was not written by this script; refusing to touch this machine's Slurm (remove it or use that cluster directly)"
  fi
}

install_packages() {
  local missing=""
  for p in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    echo "slurm-local: installing$missing"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  fi
}

write_conf() {
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  # A little under the free memory, so that jobs asking for the whole node still fit.
  mem=$(free -m | awk '/^Mem:/ { m = int($2 * 0.9); print (m > 256 ? m : 256) }')
  mkdir -p /etc/slurm "$SPOOL/ctld" "$SPOOL/d" /var/log/slurm-local
  cat > "$CONF.tmp" <<EOF
$MARKER
ClusterName=explaind-local
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
MinJobAge=3600
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/d
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=/var/log/slurm-local/slurmctld.log
SlurmdLogFile=/var/log/slurm-local/slurmd.log
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$CONF.tmp" "$CONF"
}

start_munge() {
  pid_alive "$MUNGE_PID" && return 0
  if [ ! -f /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  fi
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  runuser -u munge -- /usr/sbin/munged </dev/null >/dev/null 2>&1
  for _ in $(seq 50); do pid_alive "$MUNGE_PID" && return 0; sleep 0.1; done
  die "munged did not start (see /var/log/munge/munged.log)"
}

cluster_answers() { scontrol ping 2>/dev/null | grep -q "is UP"; }

node_ready() { sinfo -h -o %t 2>/dev/null | grep -Eq "^(idle|mix|alloc)"; }

# The daemons get /dev/null as stdin/stdout/stderr (they log to files) and inherit no other descriptor: a caller
# that waits for this script through a pipe or socket (Foundation's Process does) would otherwise wait for them too.
close_inherited_fds() {
  local fd
  for fd in $(ls /proc/$$/fd); do
    if [ "$fd" -gt 2 ] && [ "$fd" != 255 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}

start() {
  need_root
  close_inherited_fds
  refuse_foreign
  install_packages
  refuse_foreign
  write_conf
  start_munge
  pid_alive "$CTLD_PID" || /usr/sbin/slurmctld </dev/null >/dev/null 2>&1
  for _ in $(seq 100); do cluster_answers && break; sleep 0.2; done
  cluster_answers || die "slurmctld did not answer (see /var/log/slurm-local/slurmctld.log)"
  pid_alive "$SLURMD_PID" || /usr/sbin/slurmd </dev/null >/dev/null 2>&1
  for _ in $(seq 100); do node_ready && break; sleep 0.2; done
  node_ready || die "node $(hostname -s) did not become idle (see /var/log/slurm-local/slurmd.log; sinfo -R)"
  echo "slurm-local: up: node $(hostname -s), $(nproc) CPUs, partition 'local' (stop with: bash scripts/slurm-local.sh stop)"
}

stop_daemon() {  # name pidfile
  local pid
  pid_alive "$2" || { rm -f "$2"; return 0; }
  pid=$(cat "$2")
  kill "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || { rm -f "$2"; return 0; }; sleep 0.1; done
  echo "slurm-local: $1 (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL" >&2
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$2"
}

stop() {
  need_root
  refuse_foreign
  stop_daemon slurmd "$SLURMD_PID"
  stop_daemon slurmctld "$CTLD_PID"
  stop_daemon munged "$MUNGE_PID"
  echo "slurm-local: stopped"
}

status() {
  local rc=0
  for d in "munged:$MUNGE_PID" "slurmctld:$CTLD_PID" "slurmd:$SLURMD_PID"; do
    if pid_alive "${d#*:}"; then echo "${d%%:*}: running (pid $(cat "${d#*:}"))"; else echo "${d%%:*}: stopped"; rc=1; fi
  done
  if [ $rc = 0 ] && cluster_answers; then sinfo; else rc=1; fi
  return $rc
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: bash scripts/slurm-local.sh start|stop|status" ;;
esac
