/**
 * Saves a chat turn's workflow history as JSON, in the format of `temporal workflow show --output
 * json`, for `npm run replay -- --file` or as a new recorded history in test/replay/histories/.
 *
 *   npm run history:export -- <workflowId> [file] [--run <runId>]
 *
 * Without a file the JSON goes to stdout (messages go to stderr). Temporal as for `npm run replay`.
 * Payloads are saved as stored: encrypted when the deployment encrypts them (PAYLOAD_ENCRYPTION_KEYS).
 */
import { parseArgs } from 'node:util';
import { loadConfiguration } from '../src/config';
import { eventCount, fetchWorkflowHistory, historyAsJson, writeHistoryFile } from '../src/replay/workflow-history';
import { runCommand, withTemporalClient } from './temporal-target';

const USAGE = 'Usage: npm run history:export -- <workflowId> [file] [--run <runId>]';

async function run(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: { run: { type: 'string' } } });
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  const [workflowId, file, ...rest] = parsed.positionals;
  if (!workflowId || rest.length > 0) {
    console.error(USAGE);
    return 2;
  }
  const history = await withTemporalClient(loadConfiguration(), (client) => fetchWorkflowHistory(client, workflowId, parsed.values.run));
  if (file) {
    writeHistoryFile(file, history);
    console.error(`Saved ${eventCount(history)} events of ${workflowId} to ${file}`);
  } else {
    process.stdout.write(historyAsJson(history));
  }
  return 0;
}

runCommand(run);
