// A fault-injecting TCP proxy (node:net) between the CLI and nginx: per connection it can cut
// after N response bytes, stall without closing, reset, delay the first byte, flip one response
// byte at a given package offset, or truncate; counts every response byte it forwards.

import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** What to do to one connection (index = connection number, from 0). */
export interface Fault {
  /** Close the client side cleanly after this many response bytes (headers included). */
  cutAfterBytes?: number;
  /** Stop forwarding after this many response bytes but keep the socket open. */
  stallAfterBytes?: number;
  /** Reset (RST) the client socket after this many response bytes. */
  resetAfterBytes?: number;
  /** Wait this long before forwarding the first response byte. */
  delayFirstByteMs?: number;
  /** XOR 0xff into the response body byte that is package byte `flipAtOffset` (needs a 206 answer). */
  flipAtOffset?: number;
  /** Rewrite the first response's status line and headers (text up to the blank line). */
  rewriteHead?: (head: string) => string;
  /** How many times to flip (shared by every connection given this same object; default: always). */
  flipCount?: number;
}

/** A running proxy. */
export interface FaultProxy {
  readonly port: number;
  readonly base: string;
  /** Response bytes sent to clients so far. */
  bytesSent(): number;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/** Starts a proxy to 127.0.0.1:`targetPort`; `faultFor(n)` picks the fault of connection n. */
export async function startFaultProxy(targetPort: number, faultFor: (n: number) => Fault): Promise<FaultProxy> {
  let sent = 0;
  let count = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
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
    client.on('data', (d) => upstream.write(d));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('end', () => client.end());
    const send = (chunk: Buffer) => {
      if (stalled || client.destroyed) return;
      let out = chunk;
      const limit = fault.cutAfterBytes ?? fault.stallAfterBytes ?? fault.resetAfterBytes;
      if (limit !== undefined && forwarded + out.length >= limit) out = out.subarray(0, Math.max(0, limit - forwarded));
      if (fault.flipAtOffset !== undefined) out = flip(out);
      forwarded += out.length;
      sent += out.length;
      client.write(out);
      if (limit !== undefined && forwarded >= limit) {
        upstream.pause();
        if (fault.cutAfterBytes !== undefined) client.end(() => upstream.destroy());
        else if (fault.resetAfterBytes !== undefined) client.resetAndDestroy();
        else stalled = true;
      }
    };
    // Walks the response stream (keep-alive: several responses per connection) to find body bytes.
    const flip = (chunk: Buffer): Buffer => {
      const parts: Buffer[] = [];
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
        const at = fault.flipAtOffset! - bodyStart - bodySeen;
        if (at >= 0 && at < n && (fault.flipCount ?? Infinity) > 0) {
          part = Buffer.from(part);
          part[at]! ^= 0xff;
          if (fault.flipCount !== undefined) fault.flipCount--;
        }
        parts.push(part);
        bodySeen += n;
        bodyLeft -= n;
        rest = rest.subarray(n);
        if (bodyLeft === 0) headerDone = false;
      }
      return Buffer.concat(parts);
    };
    let pendingHead: Buffer | undefined = fault.rewriteHead ? Buffer.alloc(0) : undefined;
    const rewrite = (d: Buffer): Buffer | undefined => {
      if (!pendingHead) return d;
      pendingHead = Buffer.concat([pendingHead, d]);
      const end = pendingHead.indexOf('\r\n\r\n');
      if (end < 0) return undefined;
      const head = fault.rewriteHead!(pendingHead.subarray(0, end).toString('latin1'));
      const out = Buffer.concat([Buffer.from(head, 'latin1'), pendingHead.subarray(end)]);
      pendingHead = undefined;
      return out;
    };
    upstream.on('data', (raw: Buffer) => {
      const d = rewrite(raw);
      if (!d) return;
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
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    bytesSent: () => sent,
    connections: () => count,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
