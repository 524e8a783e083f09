/**
 * A throwaway single-node Ceph cluster serving S3 through the RADOS Gateway, for tests of
 * code that talks to real S3-compatible storage: one ceph-mon, one ceph-osd keeping
 * objects in RAM (memstore), one radosgw (beast frontend) on a free 127.0.0.1 port, in a
 * temp folder of its own. Needs Debian's ceph-mon, ceph-osd, radosgw and ceph-common.
 * `stop()` kills exactly these daemons and removes the folder.
 *
 * Start-up waits on readiness signals (the mon's quorum log line, the OSD's "booting ->
 * active" log line, an HTTP answer from radosgw) within one deadline; a failure names what
 * was awaited and ends with the daemons' log tails.
 *
 * For fault tests, radosgw alone can be stopped and started again on its port (an object
 * store that is down: connections refused), or paused and resumed (one that hangs:
 * connections accepted by the kernel, never answered).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { cephConf, RGW_NAME } from './ceph-conf.js';
import { spawnDaemon, type Daemon } from './daemon.js';
import { freePorts, listeningPorts } from './ports.js';
import { runTool } from './run-tool.js';
import { createS3Client, type S3ClientTimeouts, type S3Endpoint } from './s3-client.js';
import { deadline, waitFor } from './wait.js';

export interface CephRgwOptions {
  /** memstore capacity in bytes (default 4 GiB). Keep it well above what a test stores: a full OSD hangs requests. */
  memBytes?: number;
  /** Deadline for the whole start-up (default 60 s). */
  startTimeoutMs?: number;
}

export interface CephRgw extends S3Endpoint {
  /** The cluster's folder (config, logs, the mon's store). */
  dir: string;
  /** How long start-up took, in ms. */
  startupMs: number;
  /** A new S3Client for this gateway with the settings radosgw needs (see s3-client.ts); destroyed by `stop()`. */
  client(timeouts?: S3ClientTimeouts): S3Client;
  createBucket(name: string): Promise<void>;
  /** Process ids of its daemons still running. */
  pids(): number[];
  /**
   * Stops radosgw alone (SIGTERM: it leaves its watches on the control objects cleanly, so
   * the next one starts at once), mon and OSD staying up: connections to it are refused.
   */
  stopGateway(): Promise<void>;
  /** Starts radosgw again on the same port; resolves once it answers HTTP (deadline: 30 s). */
  startGateway(): Promise<void>;
  /** SIGSTOP to radosgw: the kernel still accepts connections, nothing answers them. */
  pauseGateway(): Promise<void>;
  /** SIGCONT to a paused radosgw: it answers what waited, and what comes. */
  resumeGateway(): Promise<void>;
  /** Kills the daemons and removes the folder. Safe to call twice. */
  stop(): Promise<void>;
}

const ACCESS_KEY_ID = 'CHUNKYARDTESTACCESS0';
const SECRET_ACCESS_KEY = 'chunkyard-test-secret-key-0000000000000000';
/** Tries for the mon, which must bind a port picked beforehand (it is in the monmap): someone may bind it first. */
const MON_ATTEMPTS = 3;

export async function startCephRgw(options: CephRgwOptions = {}): Promise<CephRgw> {
  const started = performance.now();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-ceph-'));
  const cluster = new Cluster(dir, deadline(options.startTimeoutMs ?? 60_000));
  let port = 0;
  const clients: S3Client[] = [];
  async function stop() {
    for (const client of clients) client.destroy();
    await cluster.kill();
    await rm(dir, { recursive: true, force: true });
  }

  try {
    await cluster.startMon(options.memBytes ?? 4 * 1024 ** 3);
    await cluster.startOsd();
    port = await cluster.startRgw();
    await cluster.createUser(ACCESS_KEY_ID, SECRET_ACCESS_KEY);
    const endpoint: S3Endpoint = { endpoint: `http://127.0.0.1:${port}`, accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, region: 'us-east-1' };
    const client = (timeouts?: S3ClientTimeouts) => {
      const made = createS3Client(endpoint, timeouts);
      clients.push(made);
      return made;
    };
    const admin = client();
    return {
      ...endpoint,
      dir,
      startupMs: performance.now() - started,
      client,
      async createBucket(name) {
        await admin.send(new CreateBucketCommand({ Bucket: name }));
      },
      pids: () => cluster.running().map((daemon) => daemon.pid),
      stopGateway: () => cluster.stopRgw(),
      async startGateway() {
        cluster.timeLeft = deadline(30_000);
        await cluster.startRgw(port);
      },
      pauseGateway: () => cluster.signalRgw('SIGSTOP'),
      resumeGateway: () => cluster.signalRgw('SIGCONT'),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The daemons of one cluster folder, started step by step. */
class Cluster {
  readonly conf: string;
  private readonly daemons: Daemon[] = [];
  private rgw: Daemon | undefined;
  /** Never a developer's CEPH_ARGS or /etc/ceph settings. */
  private readonly env: NodeJS.ProcessEnv;

  /** @param timeLeft the deadline of the steps to come (replaced for a restart of radosgw). */
  constructor(readonly dir: string, public timeLeft: () => number) {
    this.conf = path.join(dir, 'ceph.conf');
    this.env = { ...process.env, CEPH_ARGS: '', CEPH_CONF: this.conf };
  }

  /** Writes ceph.conf for a free mon port and starts the mon; on another port if that one is taken meanwhile. */
  async startMon(memBytes: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const [monPort] = (await freePorts(1)) as [number];
      const fsid = randomUUID();
      const monData = path.join(this.dir, 'mon.a');
      await rm(monData, { recursive: true, force: true });
      await mkdir(monData);
      await writeFile(this.conf, cephConf({ dir: this.dir, fsid, monPort, memBytes }));
      const monmap = path.join(this.dir, 'monmap');
      await this.tool('monmaptool', ['--create', '--clobber', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, monmap], { conf: false });
      await this.tool('ceph-mon', ['-i', 'a', '--mkfs', '--monmap', monmap]);
      const mon = this.start('mon.a', 'ceph-mon', ['-i', 'a']);
      try {
        await this.waitForLog(mon, 'is new leader, mons a in quorum');
        return;
      } catch (err) {
        if (attempt < MON_ATTEMPTS && (await this.lostPortRace(mon))) continue;
        throw err;
      }
    }
  }

  async startOsd(): Promise<void> {
    // Registered with the mon first. --mkfs must get the registered uuid: an OSD with
    // another one boots, is silently never marked up, and waits forever.
    const uuid = randomUUID();
    const id = (await this.tool('ceph', ['--connect-timeout', String(Math.ceil(this.timeLeft() / 1000)), 'osd', 'new', uuid])).trim();
    await mkdir(path.join(this.dir, `osd.${id}`));
    await this.tool('ceph-osd', ['-i', id, '--mkfs', '--osd-uuid', uuid]);
    const osd = this.start(`osd.${id}`, 'ceph-osd', ['-i', id]);
    await this.waitForLog(osd, 'state: booting -> active');
  }

  /**
   * Starts radosgw with its frontend on port 0, so the kernel picks a free port nobody can
   * take first; resolves with that port. (Retrying a radosgw that lost a port race is
   * costly: its watches on the control objects outlive it until the OSD times them out,
   * and meanwhile every notify waits; radosgw-admin's user create took 30 s.)
   * A restart passes the port it had: clients know it.
   */
  async startRgw(onPort = 0): Promise<number> {
    await mkdir(path.join(this.dir, 'rgw.a'), { recursive: true });
    const rgw = this.start(RGW_NAME, 'radosgw', ['-n', RGW_NAME, '--rgw-frontends', `beast endpoint=127.0.0.1:${onPort}`]);
    this.rgw = rgw;
    const port = await waitFor('radosgw to listen', async () => (await listeningPorts(rgw.pid))[0], this.waitOptions());
    // Any HTTP answer means the frontend serves requests.
    await waitFor(`radosgw to answer HTTP on 127.0.0.1:${port}`, () => answersHttp(port), this.waitOptions());
    return port;
  }

  /** The S3 user, written straight into RADOS (radosgw looks a key up there when it first sees it). */
  async createUser(accessKeyId: string, secretAccessKey: string): Promise<void> {
    await this.tool('radosgw-admin', ['user', 'create', '--uid=test', '--display-name=test', `--access-key=${accessKeyId}`, `--secret-key=${secretAccessKey}`]);
  }

  /** SIGTERM to radosgw, resumed first if paused (a stopped process acts on no signal but SIGKILL); forgotten once it exited. */
  async stopRgw(): Promise<void> {
    const rgw = this.rgw;
    if (!rgw) throw new Error('radosgw is not running');
    await rgw.signal('SIGCONT');
    await rgw.kill('SIGTERM');
    this.daemons.splice(this.daemons.indexOf(rgw), 1);
    this.rgw = undefined;
  }

  async signalRgw(signal: 'SIGSTOP' | 'SIGCONT'): Promise<void> {
    if (!this.rgw || !(await this.rgw.signal(signal))) throw new Error(`radosgw is not running to get ${signal}`);
  }

  running(): Daemon[] {
    return this.daemons.filter((daemon) => !daemon.exitReason());
  }

  /**
   * SIGKILL for all: the cluster is thrown away, and a memstore OSD stopped cleanly would
   * first write every object it holds to disk.
   */
  async kill(): Promise<void> {
    await Promise.all(this.daemons.map((daemon) => daemon.kill('SIGKILL')));
  }

  private start(name: string, command: string, args: string[]): Daemon {
    const daemon = spawnDaemon({
      name,
      command,
      args: ['-f', '-c', this.conf, ...args],
      dir: this.dir,
      marker: this.conf,
      env: this.env,
      logFiles: [path.join(this.dir, `${name}.log`)],
    });
    this.daemons.push(daemon);
    return daemon;
  }

  /** Whether `daemon` exited because its port was taken; if so it is forgotten, for a retry. */
  private async lostPortRace(daemon: Daemon): Promise<boolean> {
    if (!daemon.exitReason() || !/address already in use/i.test(await daemon.logTail(50))) return false;
    this.daemons.splice(this.daemons.indexOf(daemon), 1);
    return true;
  }

  private tool(command: string, args: string[], { conf = true } = {}): Promise<string> {
    return runTool(command, conf ? ['-c', this.conf, ...args] : args, { timeoutMs: this.timeLeft(), env: this.env });
  }

  private waitForLog(daemon: Daemon, line: string): Promise<true> {
    const log = path.join(this.dir, `${daemon.name}.log`);
    return waitFor(`${daemon.name} to log "${line}"`, async () => (await readFile(log, 'utf8').catch(() => '')).includes(line), this.waitOptions());
  }

  /** What is left of the start-up's time; give up at once when any daemon has died; end errors with every log tail. */
  private waitOptions() {
    return {
      timeoutMs: this.timeLeft(),
      giveUpIf: () => {
        const dead = this.daemons.find((daemon) => daemon.exitReason());
        return dead && `${dead.name} ${dead.exitReason()}`;
      },
      context: async () => (await Promise.all(this.daemons.map((daemon) => daemon.logTail()))).join('\n'),
    };
  }
}

function answersHttp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 2_000 }, (response) => {
      response.resume();
      resolve(true);
    });
    request.once('timeout', () => request.destroy());
    request.once('error', () => resolve(false));
  });
}
