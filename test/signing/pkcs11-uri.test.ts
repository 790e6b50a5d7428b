// RFC 7512 URI parsing (pure): what ota-build reads from a `pkcs11:` key spec, and refusals of
// hostile or ambiguous URIs, each a usage error (exit 2) that never echoes a PIN.

import { describe, expect, it } from 'vitest';
import { parsePkcs11Uri } from '../../src/signing/pkcs11-uri.js';
import { expectOta } from '../helpers/expect-ota.js';

describe('parsePkcs11Uri', () => {
  it('reads token, object, id bytes, type, pin-source and module-path, percent-decoded', () => {
    const u = parsePkcs11Uri(
      'pkcs11:token=Release%20HSM;object=ota%2F2026;id=%01%a0;type=private?pin-source=file:/run/secrets/pin&module-path=/usr/lib/softhsm/libsofthsm2.so',
    );
    expect(u.token).toBe('Release HSM');
    expect(u.object).toBe('ota/2026');
    expect(u.id).toEqual(Buffer.from([0x01, 0xa0]));
    expect(u.type).toBe('private');
    expect(u.pinSourcePath).toBe('/run/secrets/pin');
    expect(u.modulePath).toBe('/usr/lib/softhsm/libsofthsm2.so');
  });

  it('accepts file:///, file://localhost/ and plain-path pin sources, UTF-8 labels and ignores x- attributes', () => {
    expect(parsePkcs11Uri('pkcs11:object=k?pin-source=file:///p/pin').pinSourcePath).toBe('/p/pin');
    expect(parsePkcs11Uri('pkcs11:object=k?pin-source=file://localhost/p/pin').pinSourcePath).toBe('/p/pin');
    expect(parsePkcs11Uri('pkcs11:object=k?pin-source=/p/pin').pinSourcePath).toBe('/p/pin');
    expect(parsePkcs11Uri('pkcs11:object=cl%C3%A9;x-vendor=1').object).toBe('clé');
    expect(parsePkcs11Uri('PKCS11:id=%02').id).toEqual(Buffer.of(2));
  });

  const hostile: [string, RegExp][] = [
    ['pkcs11:token=a', /needs object=<label> or id=/],
    ['http:object=a', /must start with "pkcs11:"/],
    ['pkcs11:object=a;object=b', /object appears twice/],
    ['pkcs11:object=a%2', /malformed %-escape/],
    ['pkcs11:object=a%zz', /malformed %-escape/],
    ['pkcs11:object=a b', /must be %-encoded/],
    ['pkcs11:object=a%00b', /not printable UTF-8/],
    ['pkcs11:object=%ff%fe', /not printable UTF-8/],
    ['pkcs11:object=a;bogus=1', /unknown attribute "bogus"/],
    ['pkcs11:object=a;=1', /is not name=value/],
    ['pkcs11:object=a;token', /is not name=value/],
    ['pkcs11:object=a#frag', /fragment/],
    ['pkcs11:object=a;id=', /id is empty/],
    ['pkcs11:object=a;slot-id=-1', /slot-id must be a decimal/],
    ['pkcs11:object=a;slot-id=99999999999', /slot-id must be a decimal/],
    ['pkcs11:object=a;type=banana', /type must be one of/],
    ['pkcs11:object=a?pin-source=http://evil/pin', /pin-source must be a file: URI/],
    ['pkcs11:object=a?pin-source=file://evil/pin', /another host/],
    ['pkcs11:object=a?pin-source=file:', /names no file/],
    [`pkcs11:object=${'a'.repeat(5000)}`, /at most 4096/],
  ];
  for (const [uri, message] of hostile) {
    it(`refuses ${JSON.stringify(uri.slice(0, 60))}`, () => {
      expectOta(() => parsePkcs11Uri(uri), 'PKCS11_BAD_URI', 2, message);
    });
  }

  it('refuses pin-value without echoing the PIN', () => {
    let message = '';
    try {
      parsePkcs11Uri('pkcs11:object=a?pin-value=s3cr3t-4711');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/pin-value is refused/);
    expect(message).not.toContain('s3cr3t-4711');
  });
});
