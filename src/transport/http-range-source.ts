// HttpRangeSource: a ByteRangeSource over an http(s) URL. Every read is a `Range` request; the
// first learns the size and the validator (strong ETag, else Last-Modified) that every later
// request carries as `If-Range`, so bytes of two packages are never mixed. With `streamAhead` a
// read asks for the rest of the file and the next read in order continues on the same response
// (memory: at most QUEUE_HIGH_WATER_BYTES of arrived bytes; the socket holds the rest). A drop,
// reset or stall resumes at the first byte not yet received (bytes that arrived before a drop are
// used), after exponential backoff with jitter; `retries` bounds the attempts in a row without progress.
// A later request answered 200 with the whole file and the same strong ETag (a server or CDN that
// ignored Range there) is read from its start, the bytes before the wanted offset discarded.

import type { IncomingMessage } from 'node:http';
import { IoError, PackageFormatError, UnsupportedError, UsageError } from '../errors/ota-error.js';
import { readCappedInput } from '../image/read-capped-input.js';
import { displayName, type ByteRangeSource } from './byte-range-source.js';
import { RetryableError, httpGetRange } from './http-request.js';
import { emptyStats, type TransportStats } from './transport-stats.js';

/** Limits of an HTTP package source. */
export interface HttpSourceOptions {
  /** Attempts in a row that make no progress before HTTP_FAILED (default 5). */
  readonly retries?: number;
  /** Seconds a response may go without a byte before it counts as stalled (default 30). */
  readonly timeoutSeconds?: number;
  /** PEM file of the CA certificates to trust for https. */
  readonly caFile?: string;
  /** First backoff in milliseconds (doubles per attempt, capped at 10 s; default 250). */
  readonly backoffMs?: number;
  /** Called whenever bytes arrive (progress display). */
  readonly onProgress?: (stats: TransportStats, totalBytes: number) => void;
}

/** One response being read: the bytes that arrived and were not used yet, in order. */
interface Active {
  readonly res: IncomingMessage;
  cursor: number;
  readonly endBytes: number;
  readonly queue: Buffer[];
  queuedBytes: number;
  /** The response ended (`end`) or broke (`aborted`, `error`, `close` before `end`). */
  ended: boolean;
  failure?: string;
  /** Wakes a `pull` waiting for bytes. */
  wake?: () => void;
}

/** Arrived bytes kept per response before it is paused (the socket then holds the rest). */
const QUEUE_HIGH_WATER_BYTES = 256 * 1024;

const MAX_BACKOFF_MS = 10_000;

/** A package read by HTTP byte ranges. */
export class HttpRangeSource implements ByteRangeSource {
  readonly refetchable = true;
  /** Ask for the rest of the file on each new request, and continue sequential reads on it. */
  streamAhead = false;
  /** Counters for progress and `--json`. */
  readonly stats: TransportStats = emptyStats();
  private active: Active | undefined;
  private sizeKnown = -1;
  /** The first answer's ETag and Last-Modified: what a later answer must show to be the same file. */
  private etag: string | undefined;
  private lastModified: string | undefined;

  private constructor(
    readonly name: string,
    private url: string,
    private readonly o: Required<Omit<HttpSourceOptions, 'caFile' | 'onProgress'>> & HttpSourceOptions,
    private readonly ca: Buffer | undefined,
  ) {}

  /** The If-Range validator: the strong ETag, else (none, or a weak W/… one) Last-Modified. */
  private get validator(): string | undefined {
    return this.etag && !this.etag.startsWith('W/') ? this.etag : this.lastModified;
  }

  /** Connects and reads nothing but what the first read asks for (the size comes with it). */
  static async open(url: string, options: HttpSourceOptions = {}): Promise<HttpRangeSource> {
    let ca: Buffer | undefined;
    if (options.caFile) ca = await readCaFile(options.caFile);
    const o = {
      ...options,
      retries: options.retries ?? 5,
      timeoutSeconds: options.timeoutSeconds ?? 30,
      backoffMs: options.backoffMs ?? 250,
    };
    return new HttpRangeSource(displayName(url), url, o, ca);
  }

  get sizeBytes(): number {
    // The first read is at offset 0 (the header); the size is known once it answered.
    return this.sizeKnown < 0 ? 64 : this.sizeKnown;
  }

  async read(offsetBytes: number, lengthBytes: number): Promise<Buffer> {
    const out = Buffer.alloc(lengthBytes);
    let done = 0;
    let failures = 0;
    this.checkInside(offsetBytes, lengthBytes);
    while (done < lengthBytes) {
      const at = offsetBytes + done;
      try {
        if (!this.active || this.active.cursor !== at || at > this.active.endBytes) {
          this.drop();
          const last = this.streamAhead && this.sizeKnown > 0 ? this.sizeKnown - 1 : offsetBytes + lengthBytes - 1;
          if (failures > 0 || done > 0) this.stats.resumes++;
          this.active = await this.request(at, last);
          // The first answer tells the size: a file shorter than what is asked is truncated, not dropped.
          this.checkInside(offsetBytes, lengthBytes);
        }
        const n = await this.pull(this.active, out, done, lengthBytes - done);
        done += n;
        if (n > 0) failures = 0;
      } catch (err) {
        this.drop();
        if (!(err instanceof RetryableError)) throw err;
        if (++failures > this.o.retries) {
          // The request's own message already names the URL.
          const why = err.message.startsWith(`${this.name}: `) ? err.message.slice(this.name.length + 2) : err.message;
          const gaveUp =
            this.o.retries === 0
              ? 'gave up (no retries allowed)'
              : `gave up after ${this.o.retries} ${this.o.retries === 1 ? 'retry' : 'retries'}`;
          throw new IoError('HTTP_FAILED', `${this.name}: ${why}; ${gaveUp} at byte ${at}`);
        }
        this.stats.retries++;
        const ceiling = Math.min(MAX_BACKOFF_MS, this.o.backoffMs * 2 ** (failures - 1));
        const waitMs = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
        this.stats.waitMs += waitMs;
        await new Promise((r) => setTimeout(r, waitMs));
      }
    }
    return out;
  }

  /** PKG_TRUNCATED when [offsetBytes, +lengthBytes) runs past the end of the file (once its size is known). */
  private checkInside(offsetBytes: number, lengthBytes: number): void {
    if (this.sizeKnown >= 0 && offsetBytes + lengthBytes > this.sizeKnown) {
      this.drop();
      throw new PackageFormatError(
        'PKG_TRUNCATED',
        `${this.name} is ${this.sizeKnown} bytes: it ends inside a section (bytes ${offsetBytes}-${offsetBytes + lengthBytes - 1} needed)`,
      );
    }
  }

  /** Counts a blob refetch (a corrupt copy) as a retry. */
  noteRefetch(): void {
    this.stats.retries++;
  }

  async close(): Promise<void> {
    this.drop();
  }

  private drop(): void {
    this.active?.res.destroy();
    this.active = undefined;
  }

  /** Sends one range request and checks the answer before any body byte is used. */
  private async request(startBytes: number, endBytes: number): Promise<Active> {
    this.stats.requests++;
    const first = this.sizeKnown < 0;
    const { res, url } = await httpGetRange({
      url: this.url,
      startBytes,
      endBytes,
      ifRange: this.validator,
      ca: this.ca,
      timeoutMs: this.o.timeoutSeconds * 1000,
    });
    this.url = url;
    const status = res.statusCode ?? 0;
    const fail = (e: Error) => {
      res.destroy();
      return e;
    };
    // An empty file cannot satisfy bytes=0-63: it is answered `416` with `Content-Range: bytes */0`,
    // or (nginx) `200` with `Content-Length: 0`. Its size is known, and it is truncated.
    const unsatisfied = status === 416 ? /^bytes \*\/(\d+)$/.exec(String(res.headers['content-range'] ?? '')) : null;
    const empty = status === 200 && res.headers['content-length'] === '0';
    if (first && (unsatisfied || empty)) {
      res.resume();
      this.sizeKnown = unsatisfied ? Number(unsatisfied[1]) : 0;
      return this.reading(res, startBytes, startBytes - 1);
    }
    if (status === 200) {
      if (first)
        throw fail(
          new UnsupportedError(
            'HTTP_RANGE_UNSUPPORTED',
            `${this.name}: the server ignores Range (answered 200 to bytes=${startBytes}-${endBytes})`,
          ),
        );
      // The whole file as first seen (same size, and the same ETag, else Last-Modified): it did
      // not change; the server (or a proxy) ignored Range on this request, as some CDNs do on If-Range.
      const sameSize = Number(res.headers['content-length']) === this.sizeKnown;
      // With the same strong ETag it is the same bytes: read on from its start, skipping what
      // comes before `startBytes` (a re-download, but the apply goes on).
      if (sameSize && this.etag !== undefined && !this.etag.startsWith('W/') && res.headers.etag === this.etag)
        return this.skipTo(this.reading(res, 0, this.sizeKnown - 1), startBytes);
      const sameFile =
        sameSize &&
        (this.etag !== undefined
          ? res.headers.etag === this.etag
          : this.lastModified !== undefined && res.headers['last-modified'] === this.lastModified);
      if (sameFile)
        throw fail(
          new UnsupportedError(
            'HTTP_RANGE_UNSUPPORTED',
            `${this.name}: the server ignored Range on a later request (answered 200 to bytes=${startBytes}-${endBytes} with the whole, unchanged file)`,
          ),
        );
      throw fail(
        new IoError(
          'PACKAGE_CHANGED',
          `${this.name} changed during the download: If-Range ${this.validator} no longer matches (answered 200)`,
        ),
      );
    }
    if (status === 416 && !first)
      throw fail(
        new IoError(
          'PACKAGE_CHANGED',
          `${this.name} changed during the download: bytes=${startBytes}-${endBytes} is no longer satisfiable`,
        ),
      );
    if (status !== 206)
      throw fail(new IoError('HTTP_STATUS', `${this.name}: answered ${status} to bytes=${startBytes}-${endBytes}`));
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''));
    const total = m ? Number(m[3]) : -1;
    const etag = typeof res.headers.etag === 'string' ? res.headers.etag : undefined;
    if (!first && (total !== this.sizeKnown || etag !== this.etag))
      throw fail(
        new IoError(
          'PACKAGE_CHANGED',
          `${this.name} changed during the download: now ${total} bytes, ETag ${etag ?? 'none'} (was ${this.sizeKnown}, ${this.etag ?? 'none'})`,
        ),
      );
    const end = m ? Math.min(endBytes, total - 1) : -1;
    if (!m || Number(m[1]) !== startBytes || Number(m[2]) !== end)
      throw fail(
        new IoError(
          'HTTP_BAD_RANGE',
          `${this.name}: asked for bytes=${startBytes}-${endBytes}, got Content-Range "${res.headers['content-range'] ?? ''}"`,
        ),
      );
    const length = res.headers['content-length'];
    if (length !== undefined && Number(length) !== end - startBytes + 1)
      throw fail(
        new IoError(
          'HTTP_BAD_RANGE',
          `${this.name}: Content-Length ${length} for a ${end - startBytes + 1}-byte range at ${startBytes}`,
        ),
      );
    if (first) {
      this.sizeKnown = total;
      this.etag = etag;
      this.lastModified = res.headers['last-modified'];
    }
    return this.reading(res, startBytes, end);
  }

  /**
   * Starts taking a response's bytes into a queue. Bytes that arrived before a connection broke
   * stay usable, so a drop resumes exactly after the last byte received (nothing is fetched twice).
   */
  private reading(res: IncomingMessage, cursor: number, endBytes: number): Active {
    const a: Active = { res, cursor, endBytes, queue: [], queuedBytes: 0, ended: false };
    const wake = () => a.wake?.();
    res.on('data', (chunk: Buffer) => {
      a.queue.push(chunk);
      a.queuedBytes += chunk.length;
      this.stats.bytesReceived += chunk.length;
      this.o.onProgress?.(this.stats, this.sizeKnown);
      if (a.queuedBytes >= QUEUE_HIGH_WATER_BYTES) res.pause();
      wake();
    });
    res.on('end', () => {
      a.ended = true;
      wake();
    });
    const broke = (why: string) => {
      if (!a.ended) a.failure ??= why;
      a.ended = true;
      wake();
    };
    res.on('aborted', () => broke('the connection was closed'));
    res.on('error', (err: Error) => broke(err.message));
    res.on('close', () => broke('the connection was closed'));
    return a;
  }

  /**
   * Discards the bytes of `a` (a whole-file answer) before `startBytes`, as they arrive (each
   * wait bounded by the timeout, as pull's), and returns it positioned there.
   */
  private async skipTo(a: Active, startBytes: number): Promise<Active> {
    try {
      while (a.cursor < startBytes) await this.pull(a, undefined, 0, startBytes - a.cursor);
    } catch (err) {
      a.res.destroy();
      throw err;
    }
    return a;
  }

  /**
   * Copies up to `want` bytes of response `a` into `out` at `at` (no `out`: drops them); waits at
   * most the timeout for one.
   */
  private async pull(a: Active, out: Buffer | undefined, at: number, want: number): Promise<number> {
    if (a.cursor > a.endBytes) throw new RetryableError(`range ended at ${a.endBytes}`);
    while (a.queue.length === 0) {
      if (a.ended)
        throw new RetryableError(
          a.failure
            ? `connection lost at byte ${a.cursor}: ${a.failure}`
            : `response ended at byte ${a.cursor}, before ${a.endBytes + 1}`,
        );
      let timer: NodeJS.Timeout | undefined;
      const arrived = await new Promise<boolean>((resolve) => {
        a.wake = () => resolve(true);
        timer = setTimeout(() => resolve(false), this.o.timeoutSeconds * 1000);
      }).finally(() => {
        clearTimeout(timer);
        a.wake = undefined;
      });
      if (!arrived) throw new RetryableError(`no byte for ${this.o.timeoutSeconds} s at ${a.cursor}`);
    }
    const chunk = a.queue[0]!;
    const n = Math.min(want, chunk.length, a.endBytes + 1 - a.cursor);
    out?.set(chunk.subarray(0, n), at);
    if (n === chunk.length) a.queue.shift();
    else a.queue[0] = chunk.subarray(n);
    a.queuedBytes -= n;
    a.cursor += n;
    if (a.res.isPaused() && !a.ended && a.queuedBytes < QUEUE_HIGH_WATER_BYTES / 2) a.res.resume();
    return n;
  }
}

/** Largest --ca-file read (a system bundle is some 200 KiB). */
const MAX_CA_FILE_BYTES = 4 * 1024 * 1024;

/**
 * The certificates of --ca-file (a file or a pipe), read with a cap; one holding no PEM certificate
 * is refused (BAD_OPTION) rather than trusted as nothing, which failed later as an unverifiable server.
 */
async function readCaFile(path: string): Promise<Buffer> {
  const pem = await readCappedInput(path, MAX_CA_FILE_BYTES, 'read CA file');
  if (pem.length > MAX_CA_FILE_BYTES)
    throw new UsageError(
      'BAD_OPTION',
      `--ca-file ${path} is over ${MAX_CA_FILE_BYTES} bytes; CA certificates take less`,
    );
  if (!pem.toString('latin1').includes('-----BEGIN CERTIFICATE-----'))
    throw new UsageError('BAD_OPTION', `--ca-file ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return pem;
}
