// Interop: both signatures of a package check with the openssl CLI, using exactly the commands
// docs/FORMAT.md §5 documents, for every supported algorithm.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackages, inspectPackage, keygen } from '../../src/index.js';
import { syntheticImage } from '../helpers/edit-images.js';

const work = mkdtempSync(join(tmpdir(), 'ota-openssl-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(() => {
  expect(spawnSync('openssl', ['version']).status, 'openssl CLI is required (apt-get install openssl)').toBe(0);
  const old = syntheticImage(64 * 1024, 1);
  writeFileSync(join(work, 'old.img'), old);
  const next = Buffer.from(old);
  next.fill(7, 1000, 9000);
  writeFileSync(join(work, 'new.img'), next);
});

function opensslCheck(
  pkg: string,
  pub: string,
  algorithm: string,
  context: string,
  coveredEnd: number,
  sigOffset: number,
  sigBytes: number,
): string {
  const bytes = readFileSync(pkg);
  const statementPath = join(work, 'statement.bin');
  const sigPath = join(work, 'signature.bin');
  // The FORMAT.md recipe, run through a shell so the documented commands are what is tested.
  execFileSync('bash', [
    '-c',
    `{ printf '${context}\\0'; head -c "${coveredEnd}" "${pkg}" | openssl dgst -sha256 -binary; } > "${statementPath}"; tail -c +"$((${sigOffset} + 36 + 1))" "${pkg}" | head -c "${sigBytes}" > "${sigPath}"`,
  ]);
  expect(readFileSync(statementPath).length).toBe(context.length + 1 + 32);
  expect(bytes.length).toBeGreaterThan(coveredEnd);
  const args =
    algorithm === 'ed25519'
      ? ['pkeyutl', '-verify', '-pubin', '-inkey', pub, '-rawin', '-in', statementPath, '-sigfile', sigPath]
      : ['dgst', '-sha256', '-verify', pub, '-signature', sigPath, statementPath];
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return `${r.status} ${r.stdout.trim()}`;
}

describe('openssl verifies both signatures', () => {
  for (const algorithm of ['ed25519', 'ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-4096']) {
    it(algorithm, async () => {
      const key = await keygen(algorithm, join(work, algorithm));
      const built = await buildPackages({
        oldPath: join(work, 'old.img'),
        newPath: join(work, 'new.img'),
        outDir: join(work, `out-${algorithm}`),
        targets: 'generic',
        keyPath: key.privateKeyPath,
        jobs: 1,
        timestampSeconds: 1,
      });
      const pkg = built.packages[0]!.path;
      const info = await inspectPackage({ packagePath: pkg, pubkeyPath: key.publicKeyPath });
      const s = info.sections;
      const meta = opensslCheck(
        pkg,
        key.publicKeyPath,
        algorithm,
        'OTABUILD/1/METADATA',
        s.metadataSignature!.offsetBytes,
        s.metadataSignature!.offsetBytes,
        info.signature.metadataSignatureBytes,
      );
      expect(meta).toMatch(/^0 (Verified OK|Signature Verified Successfully)/);
      const payload = opensslCheck(
        pkg,
        key.publicKeyPath,
        algorithm,
        'OTABUILD/1/PAYLOAD',
        s.payloadSignature!.offsetBytes,
        s.payloadSignature!.offsetBytes,
        info.signature.payloadSignatureBytes,
      );
      expect(payload).toMatch(/^0 (Verified OK|Signature Verified Successfully)/);
      // And a tampered statement must not verify (the check can fail).
      const wrong = opensslCheck(
        pkg,
        key.publicKeyPath,
        algorithm,
        'OTABUILD/1/PAYLOAD',
        s.metadataSignature!.offsetBytes,
        s.metadataSignature!.offsetBytes,
        info.signature.metadataSignatureBytes,
      );
      expect(wrong).not.toMatch(/^0 /);
    });
  }
});
