// apply over HTTPS from nginx with a certificate made by openssl: accepted with --ca-file,
// refused with TLS_CERTIFICATE (exit 8) without it, before anything is written; a --ca-file
// holding no certificate, or an endless one, is BAD_OPTION; https to a plain-http port says so.

import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, describeRun, jsonOf } from '../helpers/run-cli.js';
import { freePort, startNginx, type NginxServer } from './nginx-server.mjs';
import { runCliAsync } from './run-cli-async.js';
import { filesIn, makeStreamKit, requireNginx, sha, type StreamKit } from './stream-kit.js';

const run = requireNginx();
let kit: StreamKit;
let tls: NginxServer;
let ca = '';

beforeAll(async () => {
  if (!run) return;
  kit = await makeStreamKit(1024 * 1024, 79);
  const dir = join(kit.work, 'tls');
  ca = join(kit.work, 'ca.pem');
  execFileSync('mkdir', ['-p', dir]);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(kit.work, 'key.pem'),
      '-out',
      ca,
    ],
    { stdio: 'ignore' },
  );
  const port = await freePort();
  tls = await startNginx(
    kit.served,
    dir,
    `} server { listen 127.0.0.1:${port} ssl; root ${kit.served}; ssl_certificate ${ca}; ssl_certificate_key ${join(kit.work, 'key.pem')};`,
  );
  (tls as { tlsBase?: string }).tlsBase = `https://127.0.0.1:${port}`;
}, 120_000);
afterAll(async () => {
  await tls?.stop();
  await kit?.dispose();
});

describe.runIf(run)('apply over https', () => {
  it('--ca-file trusts the server; without it the certificate error is named (exit 8)', async () => {
    const url = `${(tls as { tlsBase?: string }).tlsBase}/update-generic.otapkg`;
    const dir = kit.outDir('tls');
    const out = join(dir, 'new.img');
    const refused = await runCliAsync(['apply', url, '--old', kit.oldPath, '-o', out, '--json']);
    expect(refused.status, describeRun(refused)).toBe(8);
    expect(jsonOf(refused).error.code).toBe('TLS_CERTIFICATE');
    expect(filesIn(dir)).toEqual([]);
    const ok = await runCliAsync(['apply', url, '--old', kit.oldPath, '-o', out, '--ca-file', ca, '--json']);
    expect(ok.status, describeRun(ok)).toBe(0);
    expect(sha(out)).toBe(kit.newSha);
    // The certificates through a pipe, as from a secrets manager: <(…) in bash.
    const piped = spawnSync(
      'bash',
      ['-c', '"$0" "$@" --ca-file <(cat "$CA")', process.execPath, BIN, 'verify', url, '--json'],
      { env: { ...process.env, CA: ca }, encoding: 'utf8' },
    );
    expect(piped.status, piped.stderr).toBe(0);
  }, 60_000);

  it('a --ca-file that holds no certificate (a key, an image, /dev/zero) is BAD_OPTION before any request; https to an http port names the TLS failure', async () => {
    const url = `${(tls as { tlsBase?: string }).tlsBase}/update-generic.otapkg`;
    const dir = kit.outDir('tls-bad-ca');
    for (const [file, why] of [
      [join(kit.work, 'key.pem'), /holds no PEM certificate/],
      [kit.oldPath, /holds no PEM certificate/],
      ['/dev/zero', /is over 4194304 bytes/],
    ] as const) {
      const r = await runCliAsync([
        'apply',
        url,
        '--old',
        kit.oldPath,
        '-o',
        join(dir, 'new.img'),
        '--ca-file',
        file,
        '--json',
      ]);
      expect(r.status, describeRun(r)).toBe(2);
      expect(jsonOf(r).error).toMatchObject({ code: 'BAD_OPTION', message: expect.stringMatching(why) });
    }
    expect(filesIn(dir)).toEqual([]);
    const plain = kit.nginx.base.replace(/^http:/, 'https:');
    // Not retried (a retry meets the same): one attempt even with the default --retries.
    const r = await runCliAsync(['verify', `${plain}/update-generic.otapkg`, '--json']);
    expect(r.status, describeRun(r)).toBe(8);
    expect(jsonOf(r).error.message).toMatch(/TLS handshake failed \(EPROTO: does the server speak https there\?\)/);
  }, 60_000);
});
