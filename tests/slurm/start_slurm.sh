#!/usr/bin/env bash
# Start a real single-node SLURM (Debian's slurm-wlm 22.05 + munge) on this machine, for
# tests/test_slurm.py and for trying profiles/slurm by hand. Needs root and apt-get.
#
#   sudo tests/slurm/start_slurm.sh      # prints the partition to submit to, last line
#
# Safe to run again: packages, the munge key and slurm.conf are only written when missing
# (or, for slurm.conf, when it is ours), and daemons that already run are left running.
# A slurm.conf that this script did not write is never touched: the script then only
# checks that the cluster it describes answers. Stop everything with
#   tests/slurm/start_slurm.sh --stop
set -euo pipefail

PARTITION=${SEQCNN_SLURM_PARTITION:-main}
CONF=/etc/slurm/slurm.conf
MARK="# written by seqcnn tests/slurm/start_slurm.sh"
LOGDIR=/var/log/slurm
STATE=/var/lib/slurm

say() { echo "start_slurm: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }
# a live process of that name (a daemon's exited double-fork parent lingers as a zombie)
running() { pgrep -x -r D,R,S "$1"; }

if [ "${1:-}" = "--stop" ]; then
    for d in slurmd slurmctld; do
        pid=$(running "$d" | tr "\n" " " || true)
        [ -n "$pid" ] && kill $pid && say "stopped $d ($pid)"
    done
    exit 0
fi

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts daemons); \
run it with sudo (tests/test_slurm.py skips where it cannot)"

# 1. packages
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
        || ! command -v munged >/dev/null || ! command -v sinfo >/dev/null; then
    command -v apt-get >/dev/null || die "slurm-wlm/munge are missing and apt-get is not \
available; install SLURM and munge by hand"
    say "installing slurm-wlm and munge with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq slurm-wlm munge >/dev/null 2>&1 || {
        apt-get update -qq >/dev/null || say "apt-get update failed"
        apt-get install -y -qq slurm-wlm munge >/dev/null \
            || die "apt-get could not install slurm-wlm and munge (no network?)"
    }
fi

# 2. munge: a key (kept if there is one: a running munged depends on it), the daemon
if [ ! -s /etc/munge/munge.key ]; then
    say "writing /etc/munge/munge.key"
    install -d -o munge -g munge -m 700 /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
fi
if ! running munged >/dev/null; then
    say "starting munged"
    install -d -o munge -g munge -m 755 /run/munge
    install -d -o munge -g munge -m 700 /var/lib/munge /var/log/munge
    runuser -u munge -- /usr/sbin/munged
fi
for _ in $(seq 20); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.5; done
munge -n | unmunge >/dev/null || die "munge does not work (munge -n | unmunge fails)"

# 3. slurm.conf for this node, unless someone else's is there
host=$(hostname -s)
cpus=$(nproc)
mem_total=$(free -m | awk '/^Mem:/ {print $2}')
real_mem=$(( mem_total * 9 / 10 ))   # a little under what the node has, or it is drained
if [ -e "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
    say "$CONF was not written by this script: using the cluster it describes as it is"
    [ -z "${SEQCNN_SLURM_PARTITION:-}" ] && PARTITION=$(sinfo -h -o '%P' 2>/dev/null \
        | sed -n 's/\*$//p' | head -1)
    [ -n "$PARTITION" ] || die "no default partition in the existing SLURM; set \
SEQCNN_SLURM_PARTITION"
else
    new=$(mktemp)
    cat >"$new" <<EOF
$MARK
# A single-node cluster for tests: no cgroups, no accounting database.
ClusterName=seqcnn
SlurmctldHost=$host
SlurmUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
ReturnToService=2
# finished jobs stay visible to squeue/scontrol for an hour: the Snakemake plugin's
# status command is squeue here (there is no sacct without accounting)
MinJobAge=3600
SlurmdTimeout=300
# two GPUs declared as a generic resource without device files: jobs that ask for --gpus
# are scheduled and run (they see no CUDA device, so training falls back to the CPU)
GresTypes=gpu
NodeName=$host CPUs=$cpus RealMemory=$real_mem Gres=gpu:2 State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    gres=$(mktemp)
    # slurmd counts a GPU per device file; /dev/null and /dev/zero stand in for two
    printf '%s\nNodeName=%s Name=gpu File=/dev/null\nNodeName=%s Name=gpu File=/dev/zero\n' \
        "$MARK" "$host" "$host" >"$gres"
    if ! cmp -s "$gres" "${CONF%/*}/gres.conf" 2>/dev/null; then
        install -m 644 "$gres" "${CONF%/*}/gres.conf"
    fi
    rm -f "$gres"
    if [ -e "$CONF" ] && cmp -s "$new" "$CONF"; then
        rm -f "$new"
    else
        say "writing $CONF ($host: $cpus CPUs, RealMemory=$real_mem MB)"
        install -m 644 "$new" "$CONF"
        rm -f "$new"
        # node resources (CPUs, GRES) of a changed config need the daemons restarted
        for d in slurmd slurmctld; do
            pid=$(running "$d" | tr "\n" " " || true)
            [ -n "$pid" ] && kill $pid && say "restarting $d" && sleep 2
        done
    fi
    install -d -m 755 "$STATE/slurmctld" "$STATE/slurmd" "$LOGDIR"

    # 4. daemons (left alone when they already run)
    if ! running slurmctld >/dev/null; then
        say "starting slurmctld"
        slurmctld
    fi
    for _ in $(seq 30); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 1; done
    if ! running slurmd >/dev/null; then
        say "starting slurmd"
        slurmd
    fi
fi

# 5. wait for an idle (or mixed/allocated: in use but up) node in the partition
state=""
for _ in $(seq 60); do
    state=$(sinfo -h -p "$PARTITION" -o '%t' 2>/dev/null | head -1)
    case "$state" in idle|mix|mixed|alloc|allocated) break ;; esac
    # a node that came back from a restart may need to be told it is fine again
    case "$state" in down*|drain*|unk*) scontrol update NodeName="$host" State=RESUME \
        >/dev/null 2>&1 || true ;; esac
    sleep 1
done
case "$state" in
    idle|mix|mixed|alloc|allocated) ;;
    *) sinfo >&2 || true
       tail -n 20 "$LOGDIR/slurmctld.log" "$LOGDIR/slurmd.log" >&2 2>/dev/null || true
       die "the node in partition '$PARTITION' is not up (state: '${state:-none}')" ;;
esac
say "SLURM is up: partition $PARTITION, node state $state"
echo "$PARTITION"
