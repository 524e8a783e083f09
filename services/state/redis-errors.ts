import { UploadError } from '../core/errors.js';

/** Replies that mean Redis is there but cannot serve now: worth a retry. */
const TRANSIENT_REPLY = /^(LOADING|READONLY|MISCONF|OOM|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|NOREPLICAS|MOVED|ASK)\b/;

/**
 * Redis unreachable, timing out, out of memory or failing over is a passing fault: the
 * client should retry, so it becomes `service_unavailable`. Any other error reply is a
 * bug and stays as it is (a logged 500).
 */
export function asUnavailable(err: unknown): unknown {
  if (err instanceof UploadError) return err;
  const isReply = err instanceof Error && err.name === 'ReplyError';
  if (isReply && !TRANSIENT_REPLY.test(err.message)) return err;
  return new UploadError('service_unavailable', 'Upload state store is unavailable; retry', { cause: err });
}

/** Awaits a Redis call, turning passing faults into `service_unavailable`. */
export async function guarded<T>(pending: Promise<T>): Promise<T> {
  try {
    return await pending;
  } catch (err) {
    throw asUnavailable(err);
  }
}
