/**
 * Secrets at rest (LLM connection keys, MCP server credentials, any credential a workspace stores):
 * AES-256-GCM with a key ring from the environment, never from the database.
 *
 * `SECRETS_ENCRYPTION_KEYS="<id>:<base64 of 32 random bytes>[,<older id>:<key>…]"`: the first key
 * seals, every listed key opens. A sealed value is one text, `v1:<key id>:<base64(nonce ‖ ciphertext ‖
 * tag)>`, safe in any text column. The caller names what the value belongs to (`owner`, for example
 * `llm-connection:<workspace>:<id>:<version>`): it is authenticated, not stored, so a ciphertext
 * copied onto another row does not open there.
 *
 * Rotation without downtime (README, "Rotating keys"): add the new key behind the old one on every
 * process, then put it first on every process, then re-seal what is stored (`needsResealing`,
 * `reseal`; `npm run secrets:rotate` does it for connection keys), then drop the old key.
 *
 * Plain values never appear in an error: messages name the key id and the owner only.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { parseKeyRing, type EncryptionKey } from './key-ring';

const FORMAT = 'v1';
const CIPHER = 'aes-256-gcm';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export type SecretKey = EncryptionKey;

/** Thrown when a secret cannot be sealed or opened; its message never contains the secret. */
export class SecretsError extends Error {
  override readonly name = 'SecretsError';

  constructor(
    message: string,
    /** True when the value's key is missing from this process's ring (a rotation rolled out to part of the fleet). */
    readonly missingKey = false,
  ) {
    super(message);
  }
}

/** Parses `SECRETS_ENCRYPTION_KEYS`; the message names the variable and the bad entry, never a key. */
export function parseSecretKeys(value: string, variable = 'SECRETS_ENCRYPTION_KEYS'): SecretKey[] {
  let keys: SecretKey[];
  try {
    keys = parseKeyRing(value, variable);
  } catch (error) {
    throw new SecretsError(error instanceof Error ? error.message : String(error));
  }
  if (keys.length === 0) throw new SecretsError(`${variable}: no key given`);
  return keys;
}

/** A fresh key entry for `SECRETS_ENCRYPTION_KEYS` (what `npm start` generates once for development). */
export function generateSecretKeyEntry(id = 'k1'): string {
  return `${id}:${randomBytes(32).toString('base64')}`;
}

/** The key id a sealed value names (no key needed): for reports of what still uses an old key. */
export function sealedKeyId(sealed: string): string {
  return parseSealed(sealed).keyId;
}

function parseSealed(sealed: string): { keyId: string; data: Buffer } {
  const [format, keyId, body, ...rest] = sealed.split(':');
  if (format !== FORMAT || !keyId || body === undefined || rest.length > 0) throw new SecretsError('sealed secret has an unknown format');
  return { keyId, data: Buffer.from(body, 'base64') };
}

export class SecretBox {
  private readonly keysById: Map<string, Buffer>;
  private readonly current: SecretKey;

  constructor(keys: readonly SecretKey[]) {
    if (keys.length === 0) throw new SecretsError('SecretBox needs at least one key');
    this.current = keys[0]!;
    this.keysById = new Map(keys.map((key) => [key.id, key.key]));
  }

  /** The id of the key new values are sealed with. */
  get currentKeyId(): string {
    return this.current.id;
  }

  /** Encrypts a JSON value for `owner`. */
  seal(value: unknown, owner: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv(CIPHER, this.current.key, nonce);
    cipher.setAAD(Buffer.from(owner, 'utf8'));
    const data = Buffer.concat([nonce, cipher.update(JSON.stringify(value), 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${FORMAT}:${this.current.id}:${data.toString('base64')}`;
  }

  /** Decrypts what `seal` produced for the same owner. */
  open<T = unknown>(sealed: string, owner: string): T {
    const { keyId, data } = parseSealed(sealed);
    const key = this.keysById.get(keyId);
    if (!key) throw new SecretsError(`no secrets key with id "${keyId}" is configured (SECRETS_ENCRYPTION_KEYS)`, true);
    if (data.length < NONCE_BYTES + TAG_BYTES) throw new SecretsError('sealed secret is truncated');
    try {
      const decipher = createDecipheriv(CIPHER, key, data.subarray(0, NONCE_BYTES));
      decipher.setAAD(Buffer.from(owner, 'utf8'));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      return JSON.parse(plain.toString('utf8')) as T;
    } catch {
      throw new SecretsError(`sealed secret of ${owner} does not open with key "${keyId}" (wrong key, wrong owner, or tampered)`);
    }
  }

  /** True when the value was sealed with another key than the current one. */
  needsResealing(sealed: string): boolean {
    return parseSealed(sealed).keyId !== this.current.id;
  }

  /** Opens the value and seals it again with the current key, for the same owner. */
  reseal(sealed: string, owner: string): string {
    return this.seal(this.open(sealed, owner), owner);
  }
}
