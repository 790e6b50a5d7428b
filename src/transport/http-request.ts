// httpGetRange: one GET with a Range header over Node's built-in http/https client (no parser of
// our own), following at most MAX_REDIRECTS redirects. Returns the response once its status line
// and headers arrived; classifies failures as retryable (drops, resets, 5xx) or final (TLS, 4xx).

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { IoError } from '../errors/ota-error.js';
import { displayName, withoutCredentials } from './byte-range-source.js';

/** Redirects followed per request before HTTP_TOO_MANY_REDIRECTS. */
export const MAX_REDIRECTS = 5;

/** A failure worth another attempt (connection dropped, reset, stalled, 5xx, short body). */
export class RetryableError extends Error {}

/** What one request needs. */
export interface RangeRequest {
  readonly url: string;
  readonly startBytes: number;
  /** Last byte wanted (inclusive). */
  readonly endBytes: number;
  /** ETag or Last-Modified of the first response, sent as If-Range. */
  readonly ifRange?: string;
  /** CA certificates (PEM) trusted for https, instead of the system's. */
  readonly ca?: Buffer;
  /** Milliseconds to wait for the status line. */
  readonly timeoutMs: number;
}

/** The response and the URL that finally answered (after redirects). */
export interface RangeResponse {
  readonly res: IncomingMessage;
  readonly url: string;
}

const TLS_CODES = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT|ERR_TLS_CERT|HOSTNAME_MISMATCH)/;

/** Sends the request, following redirects; throws IoError (final) or RetryableError. */
export async function httpGetRange(r: RangeRequest): Promise<RangeResponse> {
  let url = r.url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await getOnce(url, r);
    const status = res.statusCode ?? 0;
    if ([301, 302, 303, 307, 308].includes(status) && res.headers.location) {
      res.resume();
      url = new URL(res.headers.location, url).toString();
      if (!/^https?:/i.test(url))
        throw new IoError(
          'HTTP_STATUS',
          `${displayName(r.url)} redirects to ${withoutCredentials(url)}, which is no http(s) URL`,
        );
      continue;
    }
    if (status >= 500 || status === 408 || status === 429) {
      res.resume();
      throw new RetryableError(`${displayName(url)}: answered ${status}`);
    }
    return { res, url };
  }
  throw new IoError('HTTP_TOO_MANY_REDIRECTS', `${displayName(r.url)} redirected more than ${MAX_REDIRECTS} times`);
}

function getOnce(url: string, r: RangeRequest): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const https = url.toLowerCase().startsWith('https:');
    const headers: Record<string, string> = { range: `bytes=${r.startBytes}-${r.endBytes}` };
    if (r.ifRange) headers['if-range'] = r.ifRange;
    // One connection per range (agent: false): a range is dropped by closing its connection, and
    // every request starts on a fresh one, whatever the previous response left unread.
    const options = { headers, agent: false, ...(https && r.ca ? { ca: r.ca } : {}) };
    const req = (https ? httpsRequest : httpRequest)(url, options, resolve);
    req.setTimeout(r.timeoutMs, () =>
      req.destroy(new RetryableError(`${displayName(url)}: no response in ${r.timeoutMs} ms`)),
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof RetryableError) reject(err);
      else if (err.code && TLS_CODES.test(err.code))
        reject(
          new IoError('TLS_CERTIFICATE', `${displayName(url)}: certificate does not verify (${err.code})`, {
            cause: err,
          }),
        );
      // EPROTO on https: no TLS answer (a plain-http port, most often): a retry would meet the same.
      else if (https && err.code === 'EPROTO')
        reject(
          new IoError(
            'HTTP_FAILED',
            `${displayName(url)}: TLS handshake failed (EPROTO: does the server speak https there?)`,
            { cause: err },
          ),
        );
      else reject(new RetryableError(`${displayName(url)}: ${err.code ?? err.message}`));
    });
    req.end();
  });
}
