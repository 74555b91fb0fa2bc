/**
 * The Temporal server the operator scripts talk to: `TEMPORAL_ADDRESS` (with `TEMPORAL_NAMESPACE`,
 * `TEMPORAL_API_KEY`, `TEMPORAL_TLS` as for the worker), or the local default `127.0.0.1:7233`
 * (`TEMPORAL_PORT`) that `npm start` uses.
 */
import type { Client } from '@temporalio/client';
import { connectTemporalClient } from '../src/clients';
import type { Configuration } from '../src/config';

export async function withTemporalClient<T>(configuration: Configuration, work: (client: Client) => Promise<T>): Promise<T> {
  const address = configuration.temporal.address ?? `127.0.0.1:${configuration.temporal.port}`;
  let client: Client;
  try {
    client = await connectTemporalClient(configuration, address);
  } catch (error) {
    throw new Error(`Temporal is not reachable at ${address} (${error instanceof Error ? error.message : String(error)}). Set TEMPORAL_ADDRESS.`);
  }
  try {
    return await work(client);
  } finally {
    await client.connection.close();
  }
}

/** Runs an operator command: its number is the exit code; a thrown error prints its message and exits 1. */
export function runCommand(command: () => Promise<number>): void {
  command().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
