/**
 * Defines the Lua scripts of lua/ as commands on a Redis (or Cluster) connection. Each
 * script gets the shared prelude (packed options, event publishing) in front of it.
 */
import { readFileSync } from 'node:fs';
import type { RedisConnection } from '../shared/redis-connection.js';

/** Script name -> number of keys it takes. */
export const SCRIPTS = {
  recordRanges: 5,
  rangeStatus: 2,
  createUpload: 2,
  beginMerge: 2,
  peekRanges: 2,
  parkEarlyMerge: 1,
  finishMerge: 1,
  markFailed: 1,
  cancelUpload: 2,
  writeLock: 2,
  quota: 2,
  attachFinal: 3,
  partialDone: 2,
  claimForSweep: 2,
} as const;

export type ScriptName = keyof typeof SCRIPTS;
export type { RedisConnection };
/** A script command: its keys, then the one packed JSON argument. */
export type ScriptCommand = (...keysAndArgument: string[]) => Promise<unknown>;
export type ScriptedConnection = RedisConnection & Record<ScriptName, ScriptCommand>;

function readLua(file: string): string {
  return readFileSync(new URL(`./lua/${file}.lua`, import.meta.url), 'utf8');
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

export function defineScripts(connection: RedisConnection): ScriptedConnection {
  const prelude = readLua('prelude');
  for (const [name, numberOfKeys] of Object.entries(SCRIPTS) as [ScriptName, number][]) {
    if (name in connection) continue;
    connection.defineCommand(name, { numberOfKeys, lua: `${prelude}\n${readLua(kebab(name))}` });
  }
  return connection as ScriptedConnection;
}
