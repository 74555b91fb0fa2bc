/**
 * Key rings: the AES-256 keys a process holds, each with an id that travels next to every ciphertext,
 * so rotation never needs a flag day. The first key encrypts; every key decrypts. Rotating is: add the
 * new key behind the old one everywhere, then put it first everywhere, re-encrypt what is at rest,
 * and drop the old key once nothing needs it (README, "Rotating keys").
 *
 * Shared by the Temporal payload codec (`PAYLOAD_ENCRYPTION_KEYS`) and the secrets stored in Postgres
 * (`SECRETS_ENCRYPTION_KEYS`: LLM connection keys, and any other credential a feature keeps).
 */

export interface EncryptionKey {
  id: string;
  key: Buffer;
}

const KEY_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Parses `<id>:<base64 of 32 bytes>,<id>:<…>`. Fails with a message naming the variable and the bad
 * entry (never the key material itself); duplicate ids are refused because a ciphertext must map to
 * exactly one key.
 */
export function parseKeyRing(value: string, variableName: string): EncryptionKey[] {
  const keys = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry, index) => {
      const separator = entry.indexOf(':');
      const id = separator > 0 ? entry.slice(0, separator) : '';
      const key = Buffer.from(entry.slice(separator + 1), 'base64');
      if (separator <= 0 || !KEY_ID_PATTERN.test(id) || key.length !== 32) {
        // Name the entry by its id only when it is a well-formed id: anything else may be key material.
        const name = KEY_ID_PATTERN.test(id) ? `"${id}"` : `entry ${index + 1}`;
        throw new Error(`${variableName}: ${name} must be <id>:<base64 of 32 random bytes> (id: letters, digits, _ . -)`);
      }
      return { id, key };
    });
  const seen = new Set<string>();
  for (const { id } of keys) {
    if (seen.has(id)) throw new Error(`${variableName}: the key id "${id}" appears twice`);
    seen.add(id);
  }
  return keys;
}
