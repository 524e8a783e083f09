/**
 * The ceph.conf of a throwaway single-node Ceph cluster for tests: one mon, one memstore
 * OSD, one radosgw, all on 127.0.0.1, every file inside `dir`. Each setting below is here
 * because the cluster does not start, starts slowly, or writes outside `dir` without it.
 */
export interface CephConfOptions {
  dir: string;
  fsid: string;
  monPort: number;
  /** memstore capacity: RAM is used only for what is stored, but a full OSD hangs requests. */
  memBytes: number;
}

/** The radosgw's name: its section below, and its log and output files in `dir`. */
export const RGW_NAME = 'client.rgw.a';

export function cephConf({ dir, fsid, monPort, memBytes }: CephConfOptions): string {
  return `[global]
fsid = ${fsid}
mon host = [v2:127.0.0.1:${monPort}]
mon initial members = a
public addr = 127.0.0.1
ms bind ipv6 = false
; a test server: no keys, no cephx
auth cluster required = none
auth service required = none
auth client required = none
; every file in the test's folder: pid files, sockets, logs, crash dumps, the cluster log
; (which otherwise goes to /var/log/ceph/ceph.log)
run dir = ${dir}
pid file = ${dir}/$name.pid
admin socket = ${dir}/$name.asok
log file = ${dir}/$name.log
mon cluster log file = ${dir}/cluster.$channel.log
crash dir = ${dir}/crash
keyring = ${dir}/keyring
log to stderr = false
err to stderr = false
; one OSD: every pool keeps one copy, few placement groups, no host-level spreading
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
; there is no ceph-mgr (radosgw does not need one): no MGR_DOWN warning
mon mgr mkfs grace = 86400
; the mon refuses to run when its disk has less than 5 % free by default; a shared CI disk can
mon data avail warn = 2
mon data avail crit = 1
osd objectstore = memstore
memstore device bytes = ${memBytes}
; radosgw deletes the data of multipart and large objects later, in garbage collection:
; collect it within a minute so long tests give memstore back its space
rgw gc obj min wait = 30
rgw gc processor period = 30
rgw gc processor max time = 30

[mon]
mon data = ${dir}/mon.$id
; a mon whose port was taken meanwhile must fail at once (the helper retries on another
; port), not after the default 3 tries 5 s apart (0 tries means none at all)
ms bind retry count = 1
ms bind retry delay = 0
; commit map changes (radosgw creates its pools one at a time at start-up) after 0.1 s
; instead of 1 s: start-up takes about 3 s instead of about 14 s
paxos propose interval = 0.1
paxos min wait = 0.01

[osd]
osd data = ${dir}/osd.$id
osd crush initial weight = 1
; the OSD checks whether it is full on each heartbeat: every second rather than every 6,
; so a filling memstore stops writes nearer its size (it has no peers to ping)
osd heartbeat interval = 1

[${RGW_NAME}]
; radosgw asks for ms_mon_client_mode = secure by default, which needs cephx: with auth
; none it then waits for the mon forever
ms mon client mode = crc
rgw data = ${dir}/rgw.a
rgw thread pool size = 64
`;
}
