/**
 * The BullMQ dashboard (@bull-board/koa) under /admin/queues, behind the admin credential.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { KoaAdapter } from '@bull-board/koa';
import type { Queue } from 'bullmq';
import type { Middleware } from 'koa';
import { requireAdmin } from '../shared/http/admin-auth.js';

export const DASHBOARD_PATH = '/admin/queues';

export function queueDashboard(options: { queues: Queue[]; user: string; password: string }): Middleware {
  const auth = requireAdmin(options.user, options.password);
  const board = new KoaAdapter();
  board.setBasePath(DASHBOARD_PATH);
  createBullBoard({ queues: options.queues.map((queue) => new BullMQAdapter(queue)), serverAdapter: board });
  // bull-board mounts a Koa app of its own (own body parser) under the base path.
  const dashboard = board.registerPlugin();

  return async function serveQueueDashboard(ctx, next) {
    if (ctx.path !== DASHBOARD_PATH && !ctx.path.startsWith(`${DASHBOARD_PATH}/`)) return next();
    await auth(ctx, () => dashboard(ctx, next));
  };
}
