// Types of fault-proxy.mjs (plain JS so the bench can import it too).

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
  /** Pace the response to this many bytes a second (in 10 ms slices, each once the client took the last). */
  bytesPerSecond?: number;
  /** Forward the request without its Range and If-Range lines (the server then answers 200). */
  dropRange?: boolean;
}

/** A running proxy. */
export interface FaultProxy {
  readonly port: number;
  readonly base: string;
  /** Response bytes (headers and bodies) sent to clients so far. */
  bytesSent(): number;
  /** Response body bytes sent so far whose package offset is `fromOffset` or more (default 0). */
  bodyBytesSent(fromOffset?: number): number;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/** Starts a proxy to 127.0.0.1:`targetPort`; `faultFor(n)` picks the fault of connection n. */
export function startFaultProxy(targetPort: number, faultFor: (n: number) => Fault): Promise<FaultProxy>;
