// A fault-injecting TCP proxy (node:net) between the CLI and nginx: per connection it can cut
// after N response bytes, stall without closing, reset, delay the first byte, flip one response
// byte at a given package offset, truncate, pace the response to a bandwidth, or drop the request's
// Range (and If-Range) lines; counts every
// response byte it forwards, and the body bytes by package offset. Plain JS (types in
// fault-proxy.d.mts) so the transport tests and `npm run bench -- --network` share it.

import { createConnection, createServer } from 'node:net';
import { setTimeout } from 'node:timers';

/** Starts a proxy to 127.0.0.1:`targetPort`; `faultFor(n)` picks the fault of connection n. */
export async function startFaultProxy(targetPort, faultFor) {
  let sent = 0;
  let count = 0;
  /** Package byte ranges forwarded as response bodies, [start, end) pairs in order. */
  const bodyRanges = [];
  const sockets = new Set();
  const server = createServer((client) => {
    const fault = faultFor(count++);
    sockets.add(client);
    const upstream = createConnection(targetPort, '127.0.0.1');
    sockets.add(upstream);
    let forwarded = 0;
    let first = true;
    let stalled = false;
    let headerDone = false;
    let head = Buffer.alloc(0);
    let bodyStart = 0; // package offset of the current body's first byte
    let bodySeen = 0;
    let bodyLeft = 0;
    let requestStarted = false;
    client.on('data', (d) => {
      // dropRange: the request goes on without its Range and If-Range lines (a CDN that ignores them).
      if (fault.dropRange && !requestStarted) {
        requestStarted = true;
        upstream.write(Buffer.from(d.toString('latin1').replace(/^(if-)?range:[^\r\n]*\r\n/gim, ''), 'latin1'));
        return;
      }
      upstream.write(d);
    });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    // Backpressure: what the client has not taken stays upstream (so counts are bytes delivered).
    client.on('drain', () => queue.length === 0 && upstream.resume());
    const queue = [];
    let pacing = false;
    let ended = false;
    upstream.on('end', () => {
      ended = true;
      if (queue.length === 0) client.end();
    });
    const send = (chunk) => {
      if (stalled || client.destroyed) return;
      let out = chunk;
      const limit = fault.cutAfterBytes ?? fault.stallAfterBytes ?? fault.resetAfterBytes;
      if (limit !== undefined && forwarded + out.length >= limit) out = out.subarray(0, Math.max(0, limit - forwarded));
      out = walk(out);
      forwarded += out.length;
      sent += out.length;
      if (!client.write(out)) upstream.pause();
      if (limit !== undefined && forwarded >= limit) {
        upstream.pause();
        queue.length = 0;
        if (fault.cutAfterBytes !== undefined) client.end(() => upstream.destroy());
        else if (fault.resetAfterBytes !== undefined) client.resetAndDestroy();
        else stalled = true;
      }
    };
    const noteBody = (start, n) => {
      const last = bodyRanges[bodyRanges.length - 1];
      if (last && last[1] === start) last[1] += n;
      else bodyRanges.push([start, start + n]);
    };
    // Walks the response stream (keep-alive: several responses per connection) to find body bytes,
    // counts them by package offset and flips the one asked for.
    const walk = (chunk) => {
      const parts = [];
      let rest = chunk;
      while (rest.length > 0) {
        if (!headerDone) {
          head = Buffer.concat([head, rest]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) {
            parts.push(rest);
            break;
          }
          const inChunk = end + 4 - (head.length - rest.length);
          const text = head.subarray(0, end).toString('latin1');
          bodyStart = Number(/content-range: bytes (\d+)-/i.exec(text)?.[1] ?? 0);
          bodyLeft = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? Infinity);
          bodySeen = 0;
          head = Buffer.alloc(0);
          headerDone = true;
          parts.push(rest.subarray(0, inChunk));
          rest = rest.subarray(inChunk);
          continue;
        }
        const n = Math.min(bodyLeft, rest.length);
        let part = rest.subarray(0, n);
        const at = (fault.flipAtOffset ?? -1) - bodyStart - bodySeen;
        if (fault.flipAtOffset !== undefined && at >= 0 && at < n && (fault.flipCount ?? Infinity) > 0) {
          part = Buffer.from(part);
          part[at] ^= 0xff;
          if (fault.flipCount !== undefined) fault.flipCount--;
        }
        parts.push(part);
        noteBody(bodyStart + bodySeen, n);
        bodySeen += n;
        bodyLeft -= n;
        rest = rest.subarray(n);
        if (bodyLeft === 0) headerDone = false;
      }
      return Buffer.concat(parts);
    };
    let pendingHead = fault.rewriteHead ? Buffer.alloc(0) : undefined;
    const rewrite = (d) => {
      if (!pendingHead) return d;
      pendingHead = Buffer.concat([pendingHead, d]);
      const end = pendingHead.indexOf('\r\n\r\n');
      if (end < 0) return undefined;
      const text = fault.rewriteHead(pendingHead.subarray(0, end).toString('latin1'));
      const out = Buffer.concat([Buffer.from(text, 'latin1'), pendingHead.subarray(end)]);
      pendingHead = undefined;
      return out;
    };
    // Paced sending: PACE_MS slices of bytesPerSecond, the next slice only once the client took the last.
    const pace = () => {
      if (queue.length === 0 || stalled || client.destroyed) {
        pacing = false;
        if (ended && queue.length === 0) client.end();
        else if (!stalled) upstream.resume();
        return;
      }
      pacing = true;
      let budget = Math.max(1, Math.round((fault.bytesPerSecond * PACE_MS) / 1000));
      while (budget > 0 && queue.length > 0) {
        const c = queue[0];
        const take = c.subarray(0, budget);
        if (take.length === c.length) queue.shift();
        else queue[0] = c.subarray(budget);
        budget -= take.length;
        send(take);
      }
      const next = () => setTimeout(pace, PACE_MS);
      if (client.writableNeedDrain) client.once('drain', next);
      else next();
    };
    upstream.on('data', (raw) => {
      const d = rewrite(raw);
      if (!d) return;
      if (fault.bytesPerSecond) {
        queue.push(d);
        upstream.pause();
        if (!pacing) pace();
        return;
      }
      if (first && fault.delayFirstByteMs) {
        first = false;
        upstream.pause();
        setTimeout(() => {
          send(d);
          upstream.resume();
        }, fault.delayFirstByteMs);
        return;
      }
      first = false;
      send(d);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    bytesSent: () => sent,
    bodyBytesSent: (fromOffset = 0) =>
      bodyRanges.reduce((n, [start, end]) => n + Math.max(0, end - Math.max(start, fromOffset)), 0),
    connections: () => count,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Slice period of a paced (bytesPerSecond) connection. */
const PACE_MS = 10;
