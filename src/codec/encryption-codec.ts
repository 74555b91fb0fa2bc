/**
 * Payload encryption: every payload (workflow inputs and results, activity arguments and results,
 * query answers) is encrypted with AES-256-GCM before it leaves the process, so the Temporal server
 * and its database only ever store ciphertext. Shared by the client (API), the worker and the codec
 * server endpoint that lets authorised operators read payloads in the Temporal UI.
 *
 * Keys: `PAYLOAD_ENCRYPTION_KEYS="<id>:<base64 32 bytes>,<id>:<…>"`. The first key encrypts; every
 * listed key decrypts, so rotation is adding a new key in front and keeping the old ones until no
 * history needs them. The key id travels in the payload metadata. The key-ring format and its
 * parser are shared with the secrets kept in Postgres (src/secrets/).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { parseKeyRing, type EncryptionKey } from '../secrets/key-ring';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const CIPHER = 'aes-256-gcm';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export type { EncryptionKey };

/** Parses `id:base64,id:base64`; fails with a message naming the variable and the bad entry. */
export function parseEncryptionKeys(value: string): EncryptionKey[] {
  return parseKeyRing(value, 'PAYLOAD_ENCRYPTION_KEYS');
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly keysById: Map<string, Buffer>;
  private readonly current: EncryptionKey;

  constructor(keys: EncryptionKey[]) {
    if (keys.length === 0) throw new Error('AesGcmPayloadCodec needs at least one key');
    this.current = keys[0]!;
    this.keysById = new Map(keys.map((key) => [key.id, key.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv(CIPHER, this.current.key, nonce);
      const data = Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: encoder.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: encoder.encode(this.current.id) },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || decoder.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
      const keyIdBytes = payload.metadata?.[KEY_ID_METADATA];
      const keyId = keyIdBytes ? decoder.decode(keyIdBytes) : '';
      const key = this.keysById.get(keyId);
      if (!key) throw new Error(`No payload encryption key with id "${keyId}" is configured`);
      const data = Buffer.from(payload.data ?? new Uint8Array());
      const decipher = createDecipheriv(CIPHER, key, data.subarray(0, NONCE_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain) as Payload;
    });
  }
}

/** The data converter options for client and worker: the codec when keys are configured, else none. */
export function dataConverterFor(keys: EncryptionKey[] | undefined): { payloadCodecs: PayloadCodec[] } | undefined {
  return keys && keys.length > 0 ? { payloadCodecs: [new AesGcmPayloadCodec(keys)] } : undefined;
}
