/**
 * `npm start` without `SECRETS_ENCRYPTION_KEYS`: one key generated on first start and kept in the
 * data directory (mode 0600), so stored credentials keep opening across restarts. Development only:
 * deployments set `SECRETS_ENCRYPTION_KEYS` from their secret store.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateSecretKeyEntry, parseSecretKeys, type SecretKey } from './secret-box';

export function developmentSecretKeys(dataDirectory: string): { keys: SecretKey[]; file: string; created: boolean } {
  const file = path.join(dataDirectory, 'secrets-key');
  if (existsSync(file)) return { keys: parseSecretKeys(readFileSync(file, 'utf8').trim(), file), file, created: false };
  mkdirSync(dataDirectory, { recursive: true });
  const entry = generateSecretKeyEntry('dev');
  writeFileSync(file, `${entry}\n`, { mode: 0o600 });
  return { keys: parseSecretKeys(entry, file), file, created: true };
}
