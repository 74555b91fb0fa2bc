/**
 * Replays one chat turn's history against the workflow code in this checkout, to learn before a
 * deploy whether running turns would survive it (a nondeterministic change fails their next task).
 *
 *   npm run replay -- <workflowId> [--run <runId>]      history fetched from TEMPORAL_ADDRESS
 *   npm run replay -- --file <history.json> [<workflowId>]   a saved history (npm run history:export,
 *                                                        temporal workflow show --output json, the UI's download)
 *
 * Temporal: TEMPORAL_ADDRESS etc. as for the worker, default 127.0.0.1:7233; PAYLOAD_ENCRYPTION_KEYS
 * as for the worker when the deployment encrypts payloads.
 *
 * Prints `OK <workflowId>: replayed N events`, or the replay error with the history event where the
 * code diverged, and exits 1. Exit 2 is a usage error.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bundleWorkflowCode } from '@temporalio/worker';
import { dataConverterFor, ENCRYPTED_ENCODING } from '../src/codec/encryption-codec';
import { loadConfiguration } from '../src/config';
import { describeReplayOutcome, installReplayRuntime, replayHistory } from '../src/replay/replay-runner';
import { eventCount, fetchWorkflowHistory, readHistoryFile, type History } from '../src/replay/workflow-history';
import { WORKFLOWS_PATH } from '../src/worker/create-worker';
import { runCommand, withTemporalClient } from './temporal-target';

const USAGE = 'Usage: npm run replay -- <workflowId> [--run <runId>]\n       npm run replay -- --file <history.json> [<workflowId>]';

class UsageError extends Error {}

const quietBundlerLogger = { log() {}, trace() {}, debug() {}, info() {}, warn: (message: string) => console.error(message), error: (message: string) => console.error(message) };

function readArguments(): { workflowId: string; runId?: string; file?: string } {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: { run: { type: 'string' }, file: { type: 'string' } } });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`Unexpected arguments: ${positionals.slice(1).join(' ')}`);
  if (values.file) {
    if (values.run) throw new UsageError('--run applies to a fetched history, not to --file');
    // Histories do not carry the workflow id; chatTurn does not read it, so the file name serves.
    return { workflowId: positionals[0] ?? path.basename(values.file, '.json'), file: values.file };
  }
  const workflowId = positionals[0];
  if (!workflowId) throw new UsageError('A workflow id or --file is required');
  return { workflowId, ...(values.run ? { runId: values.run } : {}) };
}

async function run(): Promise<number> {
  let target;
  try {
    target = readArguments();
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n${USAGE}`);
    return 2;
  }
  const configuration = loadConfiguration();
  const history: History = target.file
    ? readHistoryFile(target.file)
    : await withTemporalClient(configuration, (client) => fetchWorkflowHistory(client, target.workflowId, target.runId));
  // Encrypted payloads (PAYLOAD_ENCRYPTION_KEYS) are decoded with the same keys as the worker's.
  const dataConverter = dataConverterFor(configuration.encryption.keys);

  installReplayRuntime();
  // Bundled once: locating a divergence replays the history again, once per bisect step.
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
  const outcome = await replayHistory({ workflowBundle, replayName: 'durable-chat-replay', ...(dataConverter ? { dataConverter } : {}) }, history, target.workflowId);
  if (!outcome.ok) {
    console.error(`FAILED ${target.workflowId}: the workflow code does not replay its ${eventCount(history)} events\n${describeReplayOutcome(outcome)}`);
    if (!dataConverter && outcome.error.message.includes(ENCRYPTED_ENCODING)) console.error('The history holds encrypted payloads: set PAYLOAD_ENCRYPTION_KEYS as for the worker.');
    return 1;
  }
  console.log(`OK ${target.workflowId}: replayed ${eventCount(history)} events`);
  return 0;
}

runCommand(run);
