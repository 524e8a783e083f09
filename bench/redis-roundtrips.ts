/**
 * Counts Redis round trips with INFO commandstats. commandstats also counts the commands
 * a Lua script runs inside Redis (HMGET, HSET, PUBLISH...), which cost no round trip; a
 * MONITOR connection tells those apart (its lines say "lua" instead of a client address).
 * Round trips = commandstats calls - calls made inside scripts - our own CONFIG/INFO -
 * blocking XREADs of BullMQ's QueueEvents listener: it re-arms its read whenever the queue's
 * event stream gets an entry (the "added" event of a merge job), on a connection of its own,
 * one per event per ingest instance. That costs Redis a command but is not on the request's
 * path; it is counted apart (`listenerReads`).
 */
import net from 'node:net';
import { Redis } from 'ioredis';

/** One MONITOR line: `+1795633522.252134 [0 127.0.0.1:41414] "evalsha" "..." ...` (or `[0 lua]`). */
const MONITOR_LINE = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$/;
const QUOTED = /"((?:[^"\\]|\\.)*)"/g;

/**
 * MONITOR on a plain socket of its own. (ioredis's monitor() can fail with "Command queue
 * state error" when lines arrive before it has switched the connection to monitor mode.)
 */
async function openMonitor(url: string, onLine: (source: string, args: string[]) => void): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port || 6379), hostname || '127.0.0.1');
  socket.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    let buffered = '';
    let ready = false;
    socket.once('error', reject);
    socket.on('error', () => undefined);
    socket.on('data', (data: string) => {
      buffered += data;
      let newline;
      while ((newline = buffered.indexOf('\r\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 2);
        if (!ready) {
          if (line !== '+OK') return reject(new Error(`MONITOR answered ${line}`));
          ready = true;
          resolve();
          continue;
        }
        const match = MONITOR_LINE.exec(line);
        if (match) onLine(match[1]!, [...match[2]!.matchAll(QUOTED)].map((m) => m[1]!));
      }
    });
    socket.write('MONITOR\r\n');
  });
  return socket;
}

export interface RoundTripCount {
  /** commandstats calls per command, ours excluded */
  commandstats: Record<string, number>;
  commandstatsTotal: number;
  insideScripts: number;
  /** Blocking XREADs of QueueEvents listeners (not part of any request). */
  listenerReads: number;
  /** Round trips of the requests: calls - inside scripts - listener reads. */
  roundTrips: number;
  /** The same, counted from MONITOR lines of client connections (a cross-check). */
  monitorRoundTrips: number;
  /** Client commands by name, from MONITOR. */
  topLevel: Record<string, number>;
}

export class RoundTripCounter {
  private readonly admin: Redis;
  private monitor: net.Socket | undefined;
  private lua = 0;
  private clients = 0;
  private listener = 0;
  private topLevel: Record<string, number> = {};
  private ownAddress = '';

  constructor(private readonly url: string) {
    this.admin = new Redis(url, { maxRetriesPerRequest: null });
  }

  async start(): Promise<void> {
    await this.admin.ping();
    this.ownAddress = `${this.admin.stream.localAddress}:${this.admin.stream.localPort}`;
    this.admin.on('error', () => undefined);
    this.monitor = await openMonitor(this.url, (source, args) => {
      if (source === 'lua') this.lua++;
      else if (source !== this.ownAddress) {
        const name = String(args[0]).toLowerCase();
        if (name === 'xread' && args.some((arg) => String(arg).toLowerCase() === 'block')) {
          this.listener++;
          return;
        }
        this.clients++;
        this.topLevel[name] = (this.topLevel[name] ?? 0) + 1;
      }
    });
  }

  async reset(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 100));
    this.lua = 0;
    this.clients = 0;
    this.listener = 0;
    this.topLevel = {};
    await this.admin.config('RESETSTAT');
  }

  async read(): Promise<RoundTripCount> {
    // Let the MONITOR feed catch up with what Redis already ran.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const info = await this.admin.info('commandstats');
    const commandstats: Record<string, number> = {};
    for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) commandstats[match[1]!] = Number(match[2]);
    // Ours: the RESETSTAT that started the count and this INFO.
    for (const own of ['config|resetstat', 'info']) {
      commandstats[own] = (commandstats[own] ?? 0) - 1;
      if (commandstats[own]! <= 0) delete commandstats[own];
    }
    const total = Object.values(commandstats).reduce((sum, calls) => sum + calls, 0);
    return { commandstats, commandstatsTotal: total, insideScripts: this.lua, listenerReads: this.listener, roundTrips: total - this.lua - this.listener, monitorRoundTrips: this.clients, topLevel: { ...this.topLevel } };
  }

  async stop(): Promise<void> {
    this.monitor?.destroy();
    this.admin.disconnect();
  }
}
