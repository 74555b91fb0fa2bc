/** Stops the servers this run started and drops the run's database. */
import { rmSync } from 'node:fs';
import { dropDatabase } from '../../src/db/database';

export default async function globalTeardown() {
  const stack = globalThis.durableChatTestStack;
  if (!stack) return;
  await stack.temporal.stop();
  await stack.s3?.stop();
  await dropDatabase(stack.databaseUrl);
  rmSync(stack.directory, { recursive: true, force: true });
}
