#!/usr/bin/env bash
# A one-node SLURM cluster for the integration tests, entirely inside one directory:
#   slurm-cluster.sh start DIR   writes DIR/slurm.conf for this machine and starts munged (as the
#                                munge user), slurmctld and slurmd directly (no systemd); prints
#                                the SLURM_CONF to export once the node accepts jobs
#   slurm-cluster.sh stop DIR    stops the daemons it started there (by their recorded pids)
# Debian's slurm-wlm 22.05 on one node needs: proctrack/linuxproc, task/none, no cgroup.conf,
# accounting off (so no sacct), munged on its own socket. Needs root (slurmd runs jobs as the
# submitting user; munged drops to the munge user).
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
cmd=$1
dir=$(realpath -m -- "$2")

stop() {
  local name pid
  for name in slurmd slurmctld munged; do
    [[ -f $dir/$name.pid ]] || continue
    pid=$(<"$dir/$name.pid")
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/$name.pid"
  done
}

start() {
  local missing=()
  for bin in munged mungekey slurmctld slurmd sbatch squeue scontrol scancel sinfo; do
    command -v "$bin" >/dev/null || missing+=("$bin")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    echo "slurm-cluster: missing ${missing[*]} (apt-get install slurm-wlm munge)" >&2
    exit 3
  fi
  [[ $(id -u) -eq 0 ]] || { echo "slurm-cluster: must run as root" >&2; exit 3; }
  mkdir -p "$dir"/{munge,munge-socket,state,spool,log}
  # munged runs as munge and must reach its socket through DIR.
  chmod 755 "$dir"
  chown munge:munge "$dir/munge"
  chmod 700 "$dir/munge"
  # Clients reach the socket as any user; the key stays private.
  chown munge:munge "$dir/munge-socket"
  chmod 755 "$dir/munge-socket"
  if [[ ! -f $dir/munge/munge.key ]]; then
    runuser -u munge -- mungekey --create --keyfile="$dir/munge/munge.key"
  fi
  local socket=$dir/munge-socket/munge.socket
  runuser -u munge -- munged --socket="$socket" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
    --seed-file="$dir/munge/munged.seed"
  for _ in $(seq 50); do [[ -s $dir/munge/munged.pid ]] && break; sleep 0.1; done
  cp "$dir/munge/munged.pid" "$dir/munged.pid"

  local host node
  host=$(hostname -s)
  # `slurmd -C` prints this machine's NodeName, CPUs, sockets, cores and RealMemory.
  node=$(slurmd -C | head -n 1)
  local name=${node%% *}
  name=${name#NodeName=}
  cat >"$dir/slurm.conf" <<EOF
ClusterName=autotune-test
SlurmctldHost=$host
SlurmUser=root
SlurmctldPort=${AUTOTUNE_SLURM_CTLD_PORT:-6817}
SlurmdPort=${AUTOTUNE_SLURM_D_PORT:-6818}
AuthType=auth/munge
AuthInfo=socket=$socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
KillWait=2
MinJobAge=600
InactiveLimit=0
$node State=UNKNOWN
PartitionName=debug Nodes=$name Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF=$dir/slurm.conf
  slurmctld -i -f "$SLURM_CONF"
  slurmd -f "$SLURM_CONF"
  for _ in $(seq 150); do
    state=$(sinfo -h -o %T 2>/dev/null | head -n 1 || true)
    case $state in
      idle|mixed|allocated) echo "$SLURM_CONF"; return 0 ;;
      down*|drain*) scontrol update NodeName="$name" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 0.2
  done
  echo "slurm-cluster: the node never became idle (last state: ${state:-none}); logs in $dir/log" >&2
  stop
  exit 1
}

case $cmd in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
