/**
 * Counts Redis round trips with INFO commandstats. commandstats also counts the commands
 * a Lua script runs inside Redis (HMGET, HSET, PUBLISH...), which cost no round trip; a
 * MONITOR connection tells those apart (its lines say "lua" instead of a client address).
 * Round trips = commandstats calls - calls made inside scripts - our own CONFIG/INFO.
 */
import { Redis } from 'ioredis';

export interface RoundTripCount {
  /** commandstats calls per command, ours excluded */
  commandstats: Record<string, number>;
  commandstatsTotal: number;
  insideScripts: number;
  roundTrips: number;
  /** The same, counted from MONITOR lines of client connections (a cross-check). */
  monitorRoundTrips: number;
  /** Client commands by name, from MONITOR. */
  topLevel: Record<string, number>;
}

export class RoundTripCounter {
  private readonly admin: Redis;
  private monitor: Awaited<ReturnType<Redis['monitor']>> | undefined;
  private lua = 0;
  private clients = 0;
  private topLevel: Record<string, number> = {};
  private ownAddress = '';

  constructor(url: string) {
    this.admin = new Redis(url, { maxRetriesPerRequest: null });
  }

  async start(): Promise<void> {
    await this.admin.ping();
    this.ownAddress = `${this.admin.stream.localAddress}:${this.admin.stream.localPort}`;
    this.admin.on('error', () => undefined);
    this.monitor = await this.admin.monitor();
    this.monitor.on('error', () => undefined);
    this.monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === 'lua') this.lua++;
      else if (source !== this.ownAddress) {
        this.clients++;
        const name = String(args[0]).toLowerCase();
        this.topLevel[name] = (this.topLevel[name] ?? 0) + 1;
      }
    });
  }

  async reset(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 100));
    this.lua = 0;
    this.clients = 0;
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
    return { commandstats, commandstatsTotal: total, insideScripts: this.lua, roundTrips: total - this.lua, monitorRoundTrips: this.clients, topLevel: { ...this.topLevel } };
  }

  async stop(): Promise<void> {
    this.monitor?.disconnect();
    this.admin.disconnect();
  }
}
