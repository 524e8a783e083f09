/**
 * The BullMQ dashboard (@bull-board/koa) under /admin/queues, behind the admin credential.
 * bull-board (its UI, templates and body parser) is loaded on the first authorised
 * request, so an ingest whose dashboard is never opened does not carry it in memory.
 */
import type { Queue } from 'bullmq';
import type { Middleware } from 'koa';
import { requireAdmin } from '../shared/http/admin-auth.js';

export const DASHBOARD_PATH = '/admin/queues';

async function loadDashboard(queues: Queue[]): Promise<Middleware> {
  const [{ createBullBoard }, { BullMQAdapter }, { KoaAdapter }] = await Promise.all([
    import('@bull-board/api'),
    import('@bull-board/api/bullMQAdapter'),
    import('@bull-board/koa'),
  ]);
  const board = new KoaAdapter();
  board.setBasePath(DASHBOARD_PATH);
  createBullBoard({ queues: queues.map((queue) => new BullMQAdapter(queue)), serverAdapter: board });
  // bull-board mounts a Koa app of its own (own body parser) under the base path.
  return board.registerPlugin();
}

export function queueDashboard(options: { queues: Queue[]; user: string; password: string }): Middleware {
  const auth = requireAdmin(options.user, options.password);
  let dashboard: Promise<Middleware> | undefined;

  return async function serveQueueDashboard(ctx, next) {
    if (ctx.path !== DASHBOARD_PATH && !ctx.path.startsWith(`${DASHBOARD_PATH}/`)) return next();
    await auth(ctx, async () => {
      dashboard ??= loadDashboard(options.queues);
      await (await dashboard)(ctx, next);
    });
  };
}
