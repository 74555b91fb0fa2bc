/** `npm run migrate`: creates the configured database when missing and applies pending migrations. */
import { loadConfiguration } from '../config';
import { createLogger } from '../logger';
import { ensureDatabase, migrate } from './database';

async function run() {
  const configuration = loadConfiguration();
  const logger = createLogger(configuration.logLevel);
  await ensureDatabase(configuration.databaseUrl, logger);
  const applied = await migrate(configuration.databaseUrl, logger);
  logger.info({ applied }, applied.length ? 'Migrations applied' : 'Database is up to date');
}

run().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
