#!/bin/bash
# A one-node Ceph cluster serving S3, in one container: a monitor, one OSD keeping objects in
# BlueStore on a file in /var/lib/ceph (a volume: objects survive restarts and re-creation),
# and the RADOS Gateway on port 7480. On its first start it creates the cluster; on every
# start it makes sure the S3 user ($AWS_ACCESS_KEY_ID, $AWS_SECRET_ACCESS_KEY) and the bucket
# ($S3_BUCKET) exist. The container stops when any daemon does; SIGTERM stops them in order.
#
# A store for trying Chunkyard on S3 and for its tests, not for production: one copy of every
# object on one disk, no replication, no monitoring. Point S3_* at a real store for that.
#
# Environment: S3_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (required);
# CEPH_BLOCK_SIZE (default 20G): the size of the OSD's file, set at the first start. The file
# is sparse (it takes space on the host as objects arrive); near full, writes stop.
set -Eeuo pipefail

: "${S3_BUCKET:?S3_BUCKET is required}" "${AWS_ACCESS_KEY_ID:?AWS_ACCESS_KEY_ID is required}" "${AWS_SECRET_ACCESS_KEY:?AWS_SECRET_ACCESS_KEY is required}"
BLOCK_SIZE=${CEPH_BLOCK_SIZE:-20G}
DATA=/var/lib/ceph
CONF=/etc/ceph/ceph.conf
RGW_PORT=7480
# Ceph's own tools must read this cluster's config, never a CEPH_ARGS from outside.
export CEPH_ARGS="--conf $CONF"

log() { printf 'ceph-rgw: %s\n' "$*" >&2; }
trap 'log "failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR

# The daemons, in the order they start; however this script ends, they are stopped in the
# reverse order (the gateway first, the monitor last: each still has what it talks to).
pids=()
run_daemon() { "$@" -f --setuser ceph --setgroup ceph & pids+=($!); }
stop_daemons() {
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
}
trap stop_daemons EXIT
trap 'log "stopping"; exit 0' TERM INT

# Polls until "$@" succeeds, for at most $1 seconds: every wait below is for a readiness signal.
until_ok() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || { log "gave up waiting for: $*"; return 1; }
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || { log "a daemon exited while waiting for: $*"; return 1; }; done
    sleep 0.2
  done
}

# Ceph's default folders for the daemons named here (mon.a, osd.N, client.rgw.gateway).
mkdir -p "$DATA/mon/ceph-a" "$DATA/osd" "$DATA/radosgw/ceph-rgw.gateway" /run/ceph
chown -R ceph:ceph "$DATA" /run/ceph
# The cluster's id, made once and kept in the volume with the data it names.
[ -s "$DATA/fsid" ] || cat /proc/sys/kernel/random/uuid >"$DATA/fsid"

cat >"$CONF" <<CONF
[global]
fsid = $(cat "$DATA/fsid")
; Every daemon talks to the others over loopback: the monitor's address is in its map and
; must never change, while the container's own address does from one start to the next.
; Nothing outside the container reaches RADOS; S3 clients authenticate to the gateway.
mon host = [v2:127.0.0.1:3300]
public addr = 127.0.0.1
; So no keys (cephx) to make and keep: the daemons are reachable from inside only (above).
auth cluster required = none
auth service required = none
auth client required = none
; Logs to the container's output (docker logs), not to files in /var/log.
log to stderr = true
err to stderr = true
log file =
mon cluster log to stderr = false
mon cluster log file =
; Warnings and errors only (level 0); what each daemon keeps in memory still goes out if it
; crashes. At the default levels RocksDB alone prints thousands of lines a start.
debug rocksdb = 0/5
debug bluefs = 0/5
debug bluestore = 0/5
debug bdev = 0/5
debug mon = 0/5
debug paxos = 0/5
debug osd = 0/5
debug ms = 0/5
debug rgw = 0/5
; One OSD: every pool keeps one copy (Ceph refuses size 1 unless allowed, and with 3 the
; pools would never be whole). 8 placement groups per pool, not 32: the gateway's seven pools
; then put 56 on the one OSD rather than 224, near the 250 it may hold, and each costs it
; memory and start-up time.
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd pool default pg num = 8
osd pool default pgp num = 8

[mon]
; Commit map changes (the gateway creates its pools one after another at its first start)
; after 0.1 s rather than 1 s: a first start takes seconds, not half a minute.
paxos propose interval = 0.1
paxos min wait = 0.01

[osd]
; BlueStore (the default object store) on a plain file in the OSD's folder rather than on a
; disk, which it creates at --mkfs: no device, no privileges. Sparse, it takes space on the
; host only as objects are written, up to this size.
bluestore block size = $BLOCK_SIZE
; The OSD sizes its caches to this much memory (default 4 GiB).
osd memory target = 1073741824

[client.rgw.gateway]
; radosgw asks the monitor for "secure" mode by default, which needs cephx: with auth none it
; would wait for the monitor forever.
ms mon client mode = crc
; On every address of the container (the default, written out: the compose file publishes it).
rgw frontends = beast port=$RGW_PORT
CONF

if [ ! -e "$DATA/mon/ceph-a/store.db" ]; then
  log "first start: creating the cluster"
  monmaptool --create --fsid "$(cat "$DATA/fsid")" --addv a '[v2:127.0.0.1:3300]' /tmp/monmap >/dev/null
  ceph-mon -i a --mkfs --monmap /tmp/monmap --setuser ceph --setgroup ceph
  rm -f /tmp/monmap
fi
run_daemon ceph-mon -i a
until_ok 60 ceph --connect-timeout 5 mon stat

# The OSD's id is in the folder its --mkfs made; `osd new` registers one with the monitor
# first, and --mkfs must get the uuid registered (an OSD with another boots and is never up).
osd_dir=$(find "$DATA/osd" -mindepth 1 -maxdepth 1 -name 'ceph-*' -exec test -e '{}/ready' ';' -print -quit)
if [ -z "$osd_dir" ]; then
  uuid=$(cat /proc/sys/kernel/random/uuid)
  id=$(ceph osd new "$uuid")
  rm -rf "$DATA/osd/ceph-$id" && install -d -o ceph -g ceph "$DATA/osd/ceph-$id"
  ceph-osd -i "$id" --mkfs --osd-uuid "$uuid" --setuser ceph --setgroup ceph
  osd_dir=$DATA/osd/ceph-$id
fi
id=${osd_dir##*/ceph-}
run_daemon ceph-osd -i "$id"
# Up once the OSD itself says it is active (the monitor has marked it up): after a crash the
# monitor's map may still show the old process up for a while, so the map alone won't do.
until_ok 120 bash -c "ceph --admin-daemon /run/ceph/ceph-osd.$id.asok status | grep -q '\"state\": \"active\"'"

run_daemon radosgw -n client.rgw.gateway
until_ok 120 curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/"

# The S3 user, and its key if the environment names a new one.
if ! radosgw-admin user info --uid=chunkyard >/dev/null 2>&1; then
  radosgw-admin user create --uid=chunkyard --display-name=Chunkyard --access-key="$AWS_ACCESS_KEY_ID" --secret-key="$AWS_SECRET_ACCESS_KEY" >/dev/null
elif ! radosgw-admin user info --access-key="$AWS_ACCESS_KEY_ID" >/dev/null 2>&1; then
  radosgw-admin key create --uid=chunkyard --key-type=s3 --access-key="$AWS_ACCESS_KEY_ID" --secret-key="$AWS_SECRET_ACCESS_KEY" >/dev/null
fi
# The bucket, through S3 itself (radosgw-admin cannot create one): a signed PUT.
# (curl 7.88 signs no payload hash of its own, and the gateway wants one: UNSIGNED-PAYLOAD.)
s3() { curl -s --aws-sigv4 aws:amz:us-east-1:s3 --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"; }
status=$(s3 -o /dev/null -w '%{http_code}' -I "http://127.0.0.1:$RGW_PORT/$S3_BUCKET")
if [ "$status" = 404 ]; then
  status=$(s3 -o /dev/null -w '%{http_code}' -X PUT "http://127.0.0.1:$RGW_PORT/$S3_BUCKET")
  [ "$status" = 200 ] || { log "creating bucket $S3_BUCKET answered $status"; exit 1; }
  log "bucket $S3_BUCKET created"
elif [ "$status" != 200 ]; then
  log "bucket $S3_BUCKET: HEAD answered $status"; exit 1
fi
log "ready: S3 on port $RGW_PORT, bucket $S3_BUCKET"

# Until SIGTERM (the trap above), or until a daemon exits: the container then stops too.
wait -n "${pids[@]}" || true
log "a daemon exited; stopping the others"
exit 1
