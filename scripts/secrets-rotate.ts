/**
 * `npm run secrets:rotate`: re-encrypts the stored secrets (LLM connection keys) with the first key of
 * SECRETS_ENCRYPTION_KEYS, while everything keeps running. Run it once every API and worker has the
 * new key first; afterwards the old key can be dropped. Prints what it re-sealed, never a secret.
 */
import { loadConfiguration } from '../src/config';
import { createPool } from '../src/db/database';
import { resealStoredSecrets } from '../src/secrets/rotation';

async function run() {
  const configuration = loadConfiguration();
  const keys = configuration.secrets.keys;
  if (!keys) throw new Error('SECRETS_ENCRYPTION_KEYS is not set: put the new key first, the old ones after it.');
  const pool = createPool(configuration.databaseUrl);
  try {
    for (const report of await resealStoredSecrets(pool, keys)) {
      process.stdout.write(
        `${report.store}: ${report.resealed} re-sealed with key "${keys[0]!.id}", ${report.current} already under it, ${report.unreadable} under a key not in SECRETS_ENCRYPTION_KEYS\n`,
      );
    }
  } finally {
    await pool.end();
  }
}

run().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
