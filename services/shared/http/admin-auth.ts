import { timingSafeEqual, createHash } from 'node:crypto';
import type { Middleware } from 'koa';
import { UploadError } from '../../core/errors.js';

function sameSecret(a: string, b: string): boolean {
  // Hash first so the comparison takes the same time whatever the lengths.
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** Wrong guesses allowed per client address before each further one waits longer. */
const FREE_FAILURES = 5;
const FORGET_AFTER_MS = 15 * 60_000;
const LONGEST_WAIT_MS = 15 * 60_000;

/**
 * Slows guessing: after a few wrong credentials from one address, each further attempt
 * must wait twice as long as the last (up to 15 minutes), answered 429 with Retry-After
 * until then. Per process; a guesser spread over instances is slowed on each.
 */
class FailedAttempts {
  private readonly byClient = new Map<string, { failures: number; last: number }>();

  waitMs(client: string, now: number): number {
    const entry = this.byClient.get(client);
    if (!entry || now - entry.last > FORGET_AFTER_MS || entry.failures < FREE_FAILURES) return 0;
    const wait = Math.min(1_000 * 2 ** (entry.failures - FREE_FAILURES), LONGEST_WAIT_MS);
    return Math.max(entry.last + wait - now, 0);
  }

  fail(client: string, now: number): void {
    const entry = this.byClient.get(client);
    const failures = entry && now - entry.last <= FORGET_AFTER_MS ? entry.failures + 1 : 1;
    if (this.byClient.size > 10_000) this.byClient.clear();
    this.byClient.set(client, { failures, last: now });
  }

  succeed(client: string): void {
    this.byClient.delete(client);
  }
}

/**
 * HTTP basic auth for operator endpoints (queue dashboard, metrics). Without a configured
 * password they are refused outright: never public by default.
 */
export function requireAdmin(user: string, password: string): Middleware {
  const attempts = new FailedAttempts();
  return async function checkAdminCredentials(ctx, next) {
    if (password === '') throw new UploadError('forbidden', 'Operator endpoints are disabled; set ADMIN_PASSWORD to enable them');
    const now = Date.now();
    const wait = attempts.waitMs(ctx.ip, now);
    if (wait > 0) {
      ctx.set('Retry-After', String(Math.ceil(wait / 1000)));
      throw new UploadError('too_many_requests', 'Too many wrong credentials; wait before trying again');
    }
    const header = ctx.get('authorization');
    const encoded = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header)?.[1];
    const decoded = encoded ? Buffer.from(encoded, 'base64').toString('utf8') : '';
    const separator = decoded.indexOf(':');
    const ok = separator > 0 && sameSecret(decoded.slice(0, separator), user) && sameSecret(decoded.slice(separator + 1), password);
    if (!ok) {
      if (header !== '') attempts.fail(ctx.ip, now);
      ctx.set('WWW-Authenticate', 'Basic realm="chunkyard", charset="UTF-8"');
      throw new UploadError('unauthorized');
    }
    attempts.succeed(ctx.ip);
    await next();
  };
}
