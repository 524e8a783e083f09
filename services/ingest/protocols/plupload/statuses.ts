/**
 * How Plupload 2.3.9 reacts to statuses (docs/protocols/plupload.md): 200-399 is success
 * (the body goes to the application, never interpreted); anything else, or a network error,
 * is a failure, resent after 1 s while `max_retries` (0 by default) allows, then the file
 * fails and the queue moves on. No status stops it and none makes it retry by meaning, so
 * the statuses say what happened, as most REST APIs would, and a refusal is the same on
 * every resend (it ends at the client's limit, it cannot loop).
 *
 * Never a 3xx: Plupload counts one as success, and a redirected POST arrives as a GET
 * without its body, so a chunk would count as uploaded that never was.
 */
import { DEFAULT_STATUSES, jsonErrorRenderer, type StatusTable } from '../../../shared/http/default-statuses.js';

export const PLUPLOAD_STATUSES: StatusTable = { ...DEFAULT_STATUSES };

export const renderPluploadError = jsonErrorRenderer(PLUPLOAD_STATUSES);
