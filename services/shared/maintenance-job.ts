/**
 * Periodic housekeeping runs as BullMQ jobs: every worker declares the same job
 * scheduler (idempotent), and whichever worker takes a run does it.
 */
import { Queue } from 'bullmq';
import type { RedisConnection } from './redis-connection.js';
import { queuePrefix } from '../state/redis-keys.js';

export const MAINTENANCE_QUEUE = 'maintenance';
export const SWEEP_SCHEDULER_ID = 'sweep-abandoned-uploads';
export const SWEEP_JOB_NAME = 'sweep';

export function createMaintenanceQueue(connection: RedisConnection, prefix: string): Queue {
  return new Queue(MAINTENANCE_QUEUE, { connection, prefix: queuePrefix(prefix) });
}

export async function scheduleSweep(queue: Queue, everyMs: number): Promise<void> {
  await queue.upsertJobScheduler(SWEEP_SCHEDULER_ID, { every: everyMs }, {
    name: SWEEP_JOB_NAME,
    opts: { removeOnComplete: 100, removeOnFail: 100 },
  });
}
