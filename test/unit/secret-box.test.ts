/**
 * Secrets at rest: AES-256-GCM with a key id in each sealed value, bound to the record it belongs to,
 * and key rotation (the first key seals, every key opens, resealing moves values to the new key).
 */
import { randomBytes } from 'node:crypto';
import { parseKeyRing } from '../../src/secrets/key-ring';
import { SecretBox, SecretsError, generateSecretKeyEntry, parseSecretKeys, sealedKeyId } from '../../src/secrets/secret-box';

const key = (id: string) => ({ id, key: randomBytes(32) });

describe('SecretBox', () => {
  const old = key('k1');
  const next = key('k2');

  it('opens what it sealed, and the sealed text holds neither the secret nor the key', () => {
    const box = new SecretBox([old]);
    const secret = `sk-${randomBytes(16).toString('hex')}`;
    const sealed = box.seal(secret, 'llm-connection:ws:conn:1');
    expect(sealed).toMatch(/^v1:k1:[A-Za-z0-9+/=]+$/);
    expect(sealed).not.toContain(secret);
    expect(sealed).not.toContain(old.key.toString('base64'));
    expect(box.open(sealed, 'llm-connection:ws:conn:1')).toBe(secret);
    expect(box.seal(secret, 'llm-connection:ws:conn:1')).not.toBe(sealed);
  });

  it('refuses a value moved to another record (associated data) or tampered with', () => {
    const box = new SecretBox([old]);
    const sealed = box.seal('secret', 'llm-connection:ws:a:1');
    expect(() => box.open(sealed, 'llm-connection:ws:b:1')).toThrow(SecretsError);
    // One bit of the ciphertext flipped (the earlier character swap was sometimes no change at all).
    const separator = sealed.lastIndexOf(':');
    const bytes = Buffer.from(sealed.slice(separator + 1), 'base64');
    bytes[bytes.length >> 1]! ^= 0x01;
    const tampered = `${sealed.slice(0, separator + 1)}${bytes.toString('base64')}`;
    expect(tampered).not.toBe(sealed);
    expect(() => box.open(tampered, 'llm-connection:ws:a:1')).toThrow(/does not open/);
  });

  it('rotates: a ring with the new key first seals with it and still opens old values', () => {
    const before = new SecretBox([old]);
    const sealedBefore = before.seal('secret', 'record');
    const during = new SecretBox([next, old]);
    expect(during.open(sealedBefore, 'record')).toBe('secret');
    expect(during.needsResealing(sealedBefore)).toBe(true);
    const resealed = during.reseal(sealedBefore, 'record');
    expect(sealedKeyId(resealed)).toBe('k2');
    expect(during.needsResealing(resealed)).toBe(false);
    const after = new SecretBox([next]);
    expect(after.open(resealed, 'record')).toBe('secret');
    const missing = (() => {
      try {
        after.open(sealedBefore, 'record');
      } catch (error) {
        return error;
      }
    })();
    expect(missing).toBeInstanceOf(SecretsError);
    expect((missing as SecretsError).missingKey).toBe(true);
  });

  it('seals JSON values, as the MCP credentials are stored', () => {
    const box = new SecretBox(parseSecretKeys(generateSecretKeyEntry('k9')));
    const credentials = { headers: { authorization: 'Bearer t0ken-value' }, env: { TOKEN: 'x' } };
    expect(box.open(box.seal(credentials, 'app-server:1'), 'app-server:1')).toEqual(credentials);
    expect(() => parseSecretKeys('')).toThrow(/SECRETS_ENCRYPTION_KEYS: no key given/);
  });

  it('errors never carry the plain value', () => {
    const box = new SecretBox([old]);
    const sealed = box.seal('sk-never-in-errors', 'record');
    try {
      box.open(sealed, 'other');
      throw new Error('expected a failure');
    } catch (error) {
      expect(String(error)).not.toContain('sk-never-in-errors');
    }
  });
});

describe('parseKeyRing', () => {
  const encoded = randomBytes(32).toString('base64');
  it('reads ids and keys in order', () => {
    expect(parseKeyRing(`a:${encoded}, b:${encoded}`, 'SECRETS_ENCRYPTION_KEYS').map((entry) => entry.id)).toEqual(['a', 'b']);
  });
  it.each([
    ['a short key', `a:${randomBytes(16).toString('base64')}`, /SECRETS_ENCRYPTION_KEYS: "a" must be/],
    ['no id', encoded, /SECRETS_ENCRYPTION_KEYS: entry 1 must be/],
    ['a duplicate id', `a:${encoded},a:${encoded}`, /appears twice/],
  ])('refuses %s, naming the variable and never the key', (_case, value, message) => {
    expect(() => parseKeyRing(value, 'SECRETS_ENCRYPTION_KEYS')).toThrow(message);
    try {
      parseKeyRing(value, 'SECRETS_ENCRYPTION_KEYS');
    } catch (error) {
      expect(String(error)).not.toContain(encoded);
    }
  });
});
