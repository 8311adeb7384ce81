#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for trying and testing tools/slurm/score_array.sbatch:
#   eval "$(bash tools/slurm/local_cluster.sh start DIR)"   # prints export SLURM_CONF=...
#   bash tools/slurm/local_cluster.sh stop DIR
# It runs munged, slurmctld and slurmd as root with everything (key, config, state, logs) in DIR,
# so nothing under /etc is touched. Needs Debian's slurm-wlm and munge.
set -euo pipefail

command=${1:?usage: local_cluster.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: local_cluster.sh start|stop DIR}")

stop() {
  for daemon in slurmd slurmctld munged; do
    [ -f "$dir/$daemon.pid" ] && kill "$(cat "$dir/$daemon.pid")" 2>/dev/null || true
  done
  sleep 1
  for daemon in slurmd slurmctld munged; do
    [ -f "$dir/$daemon.pid" ] && kill -9 "$(cat "$dir/$daemon.pid")" 2>/dev/null || true
    rm -f "$dir/$daemon.pid"
  done
}

write_config() {
  local host cpus memory
  host=$(hostname -s)
  cpus=$(nproc)
  memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
  cat > "$dir/slurm.conf" <<CONF
ClusterName=nspbert-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge.socket
CredType=cred/munge
SlurmctldPort=${SLURMCTLD_PORT:-6817}
SlurmdPort=${SLURMD_PORT:-6818}
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
# A merge job whose shards failed is cancelled instead of waiting forever.
SchedulerParameters=kill_invalid_depend
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
}

start() {
  stop
  # A daemon left from another cluster on the same ports would answer instead of ours.
  for port in "${SLURMCTLD_PORT:-6817}" "${SLURMD_PORT:-6818}"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "local_cluster.sh: port $port is in use (another slurmctld/slurmd?); stop it or set SLURMCTLD_PORT/SLURMD_PORT" >&2
      return 1
    fi
  done
  mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
  chmod 700 "$dir/munge"
  [ -f "$dir/munge/munge.key" ] || { dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none; chmod 400 "$dir/munge/munge.key"; }
  munged --key-file "$dir/munge/munge.key" --socket "$dir/munge.socket" --pid-file "$dir/munged.pid" \
         --log-file "$dir/munged.log" --seed-file "$dir/munge/munge.seed" --force
  write_config
  export SLURM_CONF=$dir/slurm.conf
  slurmctld -i
  slurmd
  # Ready when the node reports idle (a couple of seconds on a quiet machine).
  for _ in $(seq 1 60); do
    if sinfo -h -o %t 2>/dev/null | grep -qx idle; then
      echo "export SLURM_CONF=$dir/slurm.conf"
      return 0
    fi
    sleep 1
  done
  echo "local_cluster.sh: the node did not come up within 60 s; logs in $dir" >&2
  return 1
}

case "$command" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: local_cluster.sh start|stop DIR" >&2; exit 2 ;;
esac
