/**
 * Secrets at rest: AES-256-GCM with a key ring from the environment (`SECRET_ENCRYPTION_KEYS`).
 *
 * A sealed secret is one text value, `v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`, safe to keep
 * in any text column. The caller names what the secret belongs to (`associatedData`, for example
 * `llm-connection:<id>:<version>`): it is authenticated but not stored, so a ciphertext copied onto
 * another row does not open there.
 *
 * Rotation: the first key of the ring seals; any key of the ring opens. `needsResealing` tells which
 * values are still under an older key, for the re-encryption job (`npm run secrets:rotate`).
 *
 * Plain values never leave this module in an error message: a failure names the key id and the
 * associated data only.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { EncryptionKey } from './key-ring';

const FORMAT = 'v1';
const CIPHER = 'aes-256-gcm';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Raised when a sealed value cannot be opened: unknown key id, wrong associated data, tampering. */
export class SecretUnavailableError extends Error {
  constructor(
    message: string,
    /** True when the value's key is simply missing from this process's ring (a rotation in progress). */
    readonly missingKey: boolean,
  ) {
    super(message);
    this.name = 'SecretUnavailableError';
  }
}

export class SecretBox {
  private readonly keysById: Map<string, Buffer>;
  private readonly current: EncryptionKey;

  constructor(keys: readonly EncryptionKey[]) {
    if (keys.length === 0) throw new Error('SecretBox needs at least one key');
    this.current = keys[0]!;
    this.keysById = new Map(keys.map((key) => [key.id, key.key]));
  }

  /** The id of the key new values are sealed with. */
  get currentKeyId(): string {
    return this.current.id;
  }

  seal(plain: string, associatedData: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv(CIPHER, this.current.key, nonce);
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const data = Buffer.concat([nonce, cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${FORMAT}:${this.current.id}:${data.toString('base64url')}`;
  }

  open(sealed: string, associatedData: string): string {
    const { keyId, data } = parseSealed(sealed);
    const key = this.keysById.get(keyId);
    if (!key) throw new SecretUnavailableError(`No secret encryption key with id "${keyId}" is configured (SECRET_ENCRYPTION_KEYS)`, true);
    if (data.length < NONCE_BYTES + TAG_BYTES) throw new SecretUnavailableError(`Sealed secret for ${associatedData} is truncated`, false);
    try {
      const decipher = createDecipheriv(CIPHER, key, data.subarray(0, NONCE_BYTES));
      decipher.setAAD(Buffer.from(associatedData, 'utf8'));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      return Buffer.concat([decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretUnavailableError(`Sealed secret for ${associatedData} does not open with key "${keyId}" (tampered, or moved from another record)`, false);
    }
  }

  /** True when the value was sealed with another key than the current one. */
  needsResealing(sealed: string): boolean {
    return parseSealed(sealed).keyId !== this.current.id;
  }

  /** Opens the value and seals it again with the current key (same associated data). */
  reseal(sealed: string, associatedData: string): string {
    return this.seal(this.open(sealed, associatedData), associatedData);
  }
}

/** The key id a sealed value names (no key needed): for reports of what still uses an old key. */
export function sealedKeyId(sealed: string): string {
  return parseSealed(sealed).keyId;
}

function parseSealed(sealed: string): { keyId: string; data: Buffer } {
  const first = sealed.indexOf(':');
  const second = sealed.indexOf(':', first + 1);
  if (first < 0 || second < 0 || sealed.slice(0, first) !== FORMAT) throw new SecretUnavailableError('Not a sealed secret (expected v1:<key id>:<data>)', false);
  return { keyId: sealed.slice(first + 1, second), data: Buffer.from(sealed.slice(second + 1), 'base64url') };
}
