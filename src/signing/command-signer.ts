// CommandSigner: signs by running an external command once per signature (an HSM client, a
// cloud signing service's CLI, `openssl pkeyutl`): the statement (FORMAT.md §5) goes to its
// stdin, the raw signature comes back on stdout. The writer checks every signature against the
// public key before using it, so a lying command cannot get bytes into a package.

import { spawn } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { removeOnInterrupt } from '../image/interrupt-cleanup.js';
import { join } from 'node:path';
import { SignatureError, ioError } from '../errors/ota-error.js';
import type { Signer, Verifier } from './signer.js';

/** Most bytes accepted on the command's stdout (any signature is far smaller). */
const MAX_OUTPUT_BYTES = 64 * 1024;
/** Most bytes of stderr kept for the error message. */
const MAX_STDERR_BYTES = 4 * 1024;

/** Default time a sign command may take per signature. */
export const DEFAULT_SIGN_TIMEOUT_SECONDS = 60;

/** A Signer that runs `command` through `/bin/sh -c`, checked against a known public key. */
export class CommandSigner implements Signer {
  readonly algorithm;
  readonly keyId;

  constructor(
    private readonly command: string,
    private readonly publicKey: Verifier,
    private readonly timeoutSeconds: number = DEFAULT_SIGN_TIMEOUT_SECONDS,
  ) {
    this.algorithm = publicKey.algorithm;
    this.keyId = publicKey.keyId;
  }

  verifier(): Verifier {
    return this.publicKey;
  }

  /**
   * Runs the command once. Its stdin is a regular file holding the statement (not a pipe), also
   * named by $OTA_SIGN_STATEMENT: OpenSSL 3.0's `pkeyutl -rawin` (Ed25519) must know the input
   * size up front, which it gets with `-in /dev/stdin` (it refuses plain stdin).
   */
  async sign(statement: Uint8Array): Promise<Uint8Array> {
    const dir = await mkdtemp(join(tmpdir(), 'ota-sign-')).catch((err) => {
      throw ioError('create temp folder in', tmpdir(), err);
    });
    const forget = removeOnInterrupt(dir);
    try {
      const path = join(dir, 'statement.bin');
      const out = await open(path, 'wx', 0o600);
      await out.writeFile(Buffer.from(statement)).finally(() => out.close());
      // A fresh read-only descriptor, positioned at 0, becomes the command's stdin.
      const input = await open(path, 'r');
      try {
        return await this.run(input.fd, path);
      } finally {
        await input.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
      forget();
    }
  }

  private run(stdinFd: number, statementPath: string): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      // Own process group, so a timeout kills the whole pipeline the shell started.
      const child = spawn('/bin/sh', ['-c', this.command], {
        stdio: [stdinFd, 'pipe', 'pipe'],
        detached: true,
        env: { ...process.env, OTA_SIGN_STATEMENT: statementPath },
      });
      const out: Buffer[] = [];
      let outBytes = 0;
      let err = '';
      let failure: SignatureError | undefined;
      let settled = false;
      const settle = (done: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        done();
      };
      // A failure ends the run now: the group is killed and the pipes dropped, not waited for (a
      // descendant that left the group, e.g. a daemon the command started, may hold them open).
      const fail = (
        code: 'SIG_COMMAND_FAILED' | 'SIG_COMMAND_TIMEOUT' | 'SIG_SIGNER_BAD_SIGNATURE',
        message: string,
      ) => {
        failure ??= new SignatureError(code, `sign command ${JSON.stringify(this.command)} ${message}`);
        killGroup(child.pid);
        child.stdout?.destroy();
        child.stderr?.destroy();
        child.unref();
        settle(() => reject(failure));
      };
      const timer = setTimeout(
        () => fail('SIG_COMMAND_TIMEOUT', `did not finish within ${this.timeoutSeconds} s (--sign-timeout)`),
        this.timeoutSeconds * 1000,
      );
      child.stdout!.on('data', (chunk: Buffer) => {
        outBytes += chunk.length;
        if (outBytes > MAX_OUTPUT_BYTES) fail('SIG_COMMAND_FAILED', `printed more than ${MAX_OUTPUT_BYTES} bytes`);
        else out.push(chunk);
      });
      child.stderr!.on('data', (chunk: Buffer) => {
        if (err.length < MAX_STDERR_BYTES) err += chunk.toString('utf8');
      });
      child.on('error', (e) => fail('SIG_COMMAND_FAILED', `could not start: ${e.message}`));
      child.on('close', (code, signal) =>
        settle(() => {
          const why = err.trim().split('\n')[0]?.slice(0, 200);
          if (failure) reject(failure);
          else if (code !== 0) {
            const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
            reject(
              new SignatureError(
                'SIG_COMMAND_FAILED',
                `sign command ${JSON.stringify(this.command)} ${how}${why ? `: ${why}` : ''}`,
              ),
            );
          } else if (outBytes === 0) {
            reject(
              new SignatureError(
                'SIG_COMMAND_FAILED',
                `sign command ${JSON.stringify(this.command)} printed no signature`,
              ),
            );
          } else resolve(Buffer.concat(out));
        }),
      );
    });
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
