/**
 * The tool activity against the real test database (created and migrated by the jest global setup)
 * and a real directory of workspace files. Asserts what the model and the user see: results, errors
 * returned as tool messages, and side effects that happen once.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { createToolActivities, type ExecuteToolInput } from '../../src/activities/tools';
import { createLogger } from '../../src/logger';
import { toolCallKey } from '../../src/shared/ids';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest, whose global setup sets it.`);
  return value;
}

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'warn', 'test');
let pool: Pool;
let filesRoot: string;
let outside: string;
let executeTool: ReturnType<typeof createToolActivities>['executeTool'];

async function createWorkspace(): Promise<{ workspaceId: string; conversationId: string }> {
  const workspaceId = `ws-tools-${randomUUID().slice(0, 8)}`;
  const conversationId = `conv-${randomUUID().slice(0, 8)}`;
  await pool.query('INSERT INTO workspaces (id, name) VALUES ($1, $2)', [workspaceId, `Tools ${workspaceId}`]);
  await pool.query('INSERT INTO users (id, workspace_id, name) VALUES ($1, $2, $3)', [`${workspaceId}-user`, workspaceId, 'Tool tester']);
  await pool.query(
    `INSERT INTO agents (id, workspace_id, name, model, is_default) VALUES ($1, $2, 'Assistant', NULL, true), ($3, $2, 'Researcher', 'gpt-test', false)`,
    [`${workspaceId}-assistant`, workspaceId, `${workspaceId}-researcher`],
  );
  await pool.query('INSERT INTO conversations (id, chat_id, workspace_id, user_id) VALUES ($1, $2, $3, $4)', [conversationId, conversationId, workspaceId, `${workspaceId}-user`]);
  return { workspaceId, conversationId };
}

let callCounter = 0;

/** A tool call as the workflow would issue it, each with its own idempotency key unless one is given. */
function callInput(
  workspace: { workspaceId: string; conversationId: string },
  name: string,
  toolArguments: Record<string, unknown>,
  overrides: Partial<ExecuteToolInput> = {},
): ExecuteToolInput {
  const turnId = overrides.turnId ?? `turn-${randomUUID().slice(0, 8)}`;
  const hop = overrides.hop ?? 0;
  const toolCallId = overrides.toolCallId ?? `call_${++callCounter}`;
  return {
    turnId,
    hop,
    toolCallId,
    idempotencyKey: toolCallKey(turnId, hop, toolCallId),
    workspaceId: workspace.workspaceId,
    conversationId: workspace.conversationId,
    name,
    arguments: toolArguments,
    allowedTools: ['*', 'test_*'],
    ...overrides,
  };
}

async function sideEffectCount(idempotencyKey: string): Promise<number> {
  const result = await pool.query('SELECT count(*)::int AS count FROM tool_side_effects WHERE idempotency_key = $1', [idempotencyKey]);
  return result.rows[0].count as number;
}

beforeAll(() => {
  pool = new Pool({ connectionString: required('TEST_DATABASE_URL'), max: 10 });
  filesRoot = mkdtempSync(path.join(os.tmpdir(), 'durable-chat-files-'));
  outside = mkdtempSync(path.join(os.tmpdir(), 'durable-chat-outside-'));
  writeFileSync(path.join(outside, 'secret.txt'), 'not for the model');
  ({ executeTool } = createToolActivities({ pool, logger, workspaceFilesRoot: filesRoot }));
});

afterAll(async () => {
  await pool.end();
  rmSync(filesRoot, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describe('workspace files', () => {
  it('writes a file, lists it and reads it back', async () => {
    const workspace = await createWorkspace();
    const written = await executeTool(callInput(workspace, 'workspace_write_file', { path: 'notes/plan.md', content: 'Ship the tool loop.\n' }));
    expect(written).toEqual({
      isError: false,
      output: { path: 'notes/plan.md', size: 20, created: true },
      content: JSON.stringify({ path: 'notes/plan.md', size: 20, created: true }),
    });
    expect(readFileSync(path.join(filesRoot, workspace.workspaceId, 'notes/plan.md'), 'utf8')).toBe('Ship the tool loop.\n');

    const listed = await executeTool(callInput(workspace, 'workspace_list_files', {}));
    expect(listed.output).toEqual({ files: [{ path: 'notes/plan.md', size: 20 }], truncated: false });

    const read = await executeTool(callInput(workspace, 'workspace_read_file', { path: './notes/../notes/plan.md' }));
    expect(read.isError).toBe(false);
    expect(read.output).toEqual({ path: 'notes/plan.md', content: 'Ship the tool loop.\n', size: 20 });
  });

  it('keeps each workspace in its own directory', async () => {
    const first = await createWorkspace();
    const second = await createWorkspace();
    await executeTool(callInput(first, 'workspace_write_file', { path: 'mine.txt', content: 'first' }));
    const read = await executeTool(callInput(second, 'workspace_read_file', { path: 'mine.txt' }));
    expect(read).toMatchObject({ isError: true, content: 'Error: File "mine.txt" does not exist' });
    expect((await executeTool(callInput(second, 'workspace_list_files', {}))).output).toEqual({ files: [], truncated: false });
  });

  it('refuses paths that escape the workspace directory', async () => {
    const workspace = await createWorkspace();
    const other = await createWorkspace();
    await executeTool(callInput(other, 'workspace_write_file', { path: 'private.txt', content: 'other tenant' }));

    const attempts: Array<[string, Record<string, unknown>, string]> = [
      ['workspace_read_file', { path: `../${other.workspaceId}/private.txt` }, 'is outside the workspace directory'],
      ['workspace_read_file', { path: '..' }, 'is outside the workspace directory'],
      ['workspace_read_file', { path: path.join(outside, 'secret.txt') }, 'is absolute'],
      ['workspace_write_file', { path: '../../escaped.txt', content: 'x' }, 'is outside the workspace directory'],
      ['workspace_write_file', { path: '/tmp/escaped.txt', content: 'x' }, 'is absolute'],
    ];
    for (const [name, toolArguments, refusal] of attempts) {
      const result = await executeTool(callInput(workspace, name, toolArguments));
      expect(result.isError).toBe(true);
      expect(result.content).toContain(refusal);
      expect(result.content).not.toContain(filesRoot);
    }
    expect(existsSync(path.join(filesRoot, 'escaped.txt'))).toBe(false);
    expect(existsSync(path.join(path.dirname(filesRoot), 'escaped.txt'))).toBe(false);
  });

  it('refuses symbolic links that point outside, for reading and writing', async () => {
    const workspace = await createWorkspace();
    await executeTool(callInput(workspace, 'workspace_list_files', {}));
    const directory = path.join(filesRoot, workspace.workspaceId);
    symlinkSync(path.join(outside, 'secret.txt'), path.join(directory, 'secret-link.txt'));
    symlinkSync(outside, path.join(directory, 'outside-folder'));
    symlinkSync(path.join(outside, 'not-yet', 'folder'), path.join(directory, 'dangling-folder'));
    mkdirSync(path.join(directory, 'inside'));
    writeFileSync(path.join(directory, 'inside', 'real.txt'), 'inside');
    symlinkSync(path.join(directory, 'inside', 'real.txt'), path.join(directory, 'inside-link.txt'));

    const read = await executeTool(callInput(workspace, 'workspace_read_file', { path: 'secret-link.txt' }));
    expect(read).toMatchObject({ isError: true, content: expect.stringContaining('leads outside the workspace directory through a symbolic link') });
    const readThroughFolder = await executeTool(callInput(workspace, 'workspace_read_file', { path: 'outside-folder/secret.txt' }));
    expect(readThroughFolder.isError).toBe(true);

    for (const target of ['secret-link.txt', 'outside-folder/new.txt', 'dangling-folder/new.txt']) {
      const written = await executeTool(callInput(workspace, 'workspace_write_file', { path: target, content: 'overwritten' }));
      expect(written.isError).toBe(true);
      expect(written.content).not.toContain(outside);
    }
    expect(readFileSync(path.join(outside, 'secret.txt'), 'utf8')).toBe('not for the model');
    expect(existsSync(path.join(outside, 'new.txt'))).toBe(false);
    expect(existsSync(path.join(outside, 'not-yet'))).toBe(false);

    // A link that stays inside the workspace is fine.
    const insideLink = await executeTool(callInput(workspace, 'workspace_read_file', { path: 'inside-link.txt' }));
    expect(insideLink.output).toEqual({ path: 'inside/real.txt', content: 'inside', size: 6 });
    // Listings leave links out.
    expect((await executeTool(callInput(workspace, 'workspace_list_files', {}))).output).toEqual({
      files: [{ path: 'inside/real.txt', size: 6 }],
      truncated: false,
    });
  });

  it('refuses files over 256 KB and truncates long tool messages for the model', async () => {
    const workspace = await createWorkspace();
    const tooLarge = await executeTool(callInput(workspace, 'workspace_write_file', { path: 'big.txt', content: 'x'.repeat(256 * 1024 + 1) }));
    expect(tooLarge).toMatchObject({ isError: true, content: expect.stringContaining('files over 256 KB are not written') });

    mkdirSync(path.join(filesRoot, workspace.workspaceId), { recursive: true });
    writeFileSync(path.join(filesRoot, workspace.workspaceId, 'huge.txt'), 'y'.repeat(300 * 1024));
    const readHuge = await executeTool(callInput(workspace, 'workspace_read_file', { path: 'huge.txt' }));
    expect(readHuge).toMatchObject({ isError: true, content: expect.stringContaining('files over 256 KB are not read') });

    await executeTool(callInput(workspace, 'workspace_write_file', { path: 'long.txt', content: 'z'.repeat(20_000) }));
    const readLong = await executeTool(callInput(workspace, 'workspace_read_file', { path: 'long.txt' }));
    expect(readLong.isError).toBe(false);
    expect(readLong.content.length).toBeLessThanOrEqual(8000);
    expect(readLong.content).toMatch(/\[truncated: \d+ characters in total\]$/);
    expect(readLong.output).toMatchObject({ path: 'long.txt', size: 20_000 });
  });
});

describe('search_knowledge', () => {
  it('finds documents and memories of the workspace by their words, best first', async () => {
    const workspace = await createWorkspace();
    const other = await createWorkspace();
    await pool.query('INSERT INTO documents (id, workspace_id, title, body) VALUES ($1, $2, $3, $4), ($5, $2, $6, $7), ($8, $9, $3, $4)', [
      `${workspace.workspaceId}-refunds`,
      workspace.workspaceId,
      'Refund policy',
      'Customers on annual plans can request a refund within 30 days of renewal. Monthly plans are not refunded.',
      `${workspace.workspaceId}-holidays`,
      'Holiday calendar',
      'The office closes between Christmas and New Year.',
      `${other.workspaceId}-refunds`,
      other.workspaceId,
    ]);
    await pool.query(
      `INSERT INTO memories (id, workspace_id, conversation_id, tier, content) VALUES
         ($1, $2, NULL, 'workspace', 'The finance team approves every refund above 500 euros.'),
         ($3, $2, $4, 'session', 'The user asked about a refund for invoice 1234.'),
         ($5, $2, NULL, 'session', 'Someone else discussed a refund in another conversation.')`,
      [`${workspace.workspaceId}-m1`, workspace.workspaceId, `${workspace.workspaceId}-m2`, workspace.conversationId, `${workspace.workspaceId}-m3`],
    );

    const result = await executeTool(callInput(workspace, 'search_knowledge', { query: 'refunds for annual plans' }));
    expect(result.isError).toBe(false);
    const hits = result.output as Array<{ source: string; id: string; title?: string; snippet: string }>;
    expect(hits[0]).toEqual({
      source: 'document',
      id: `${workspace.workspaceId}-refunds`,
      title: 'Refund policy',
      snippet: expect.stringContaining('**refund**'),
    });
    expect(JSON.parse(result.content)).toEqual(hits);

    const memoryHits = (await executeTool(callInput(workspace, 'search_knowledge', { query: 'refund' }))).output as typeof hits;
    expect(memoryHits.map((hit) => hit.id).sort()).toEqual(
      [`${workspace.workspaceId}-refunds`, `${workspace.workspaceId}-m1`, `${workspace.workspaceId}-m2`].sort(),
    );
    expect(memoryHits.find((hit) => hit.source === 'memory')).not.toHaveProperty('title');

    // A question whose words do not all occur still finds the texts that match most of them.
    const question = (await executeTool(callInput(workspace, 'search_knowledge', { query: 'what are the refund rules for annual customers?' })))
      .output as typeof hits;
    expect(question[0]).toMatchObject({ source: 'document', id: `${workspace.workspaceId}-refunds` });
    expect(question.map((hit) => hit.id)).not.toContain(`${other.workspaceId}-refunds`);

    const nothing = await executeTool(callInput(workspace, 'search_knowledge', { query: 'kubernetes' }));
    expect(nothing).toEqual({ isError: false, content: '[]', output: [] });
  });
});

describe('platform tools', () => {
  it('describe the workspace and its agents', async () => {
    const workspace = await createWorkspace();
    const agents = await executeTool(callInput(workspace, 'platform_list_agents', {}));
    expect(agents.output).toEqual({
      agents: [
        { id: `${workspace.workspaceId}-assistant`, name: 'Assistant', model: null },
        { id: `${workspace.workspaceId}-researcher`, name: 'Researcher', model: 'gpt-test' },
      ],
    });
    const info = await executeTool(callInput(workspace, 'platform_workspace_info', {}));
    expect(info.output).toEqual({ id: workspace.workspaceId, name: `Tools ${workspace.workspaceId}`, agentCount: 2, conversationCount: 1 });
  });
});

describe('idempotency', () => {
  it('returns the stored result for a repeated idempotency key without running the tool again', async () => {
    const workspace = await createWorkspace();
    const input = callInput(workspace, 'test_record_side_effect', { label: 'charge the card' });
    const first = await executeTool(input);
    expect(first.isError).toBe(false);
    expect(first.output).toMatchObject({ recorded: true, label: 'charge the card' });

    const retried = await executeTool(input);
    expect(retried).toEqual(first);
    expect(await sideEffectCount(input.idempotencyKey)).toBe(1);

    // Another call of the same turn is another execution.
    const next = callInput(workspace, 'test_record_side_effect', { label: 'charge the card' }, { turnId: input.turnId, toolCallId: 'call_other' });
    await executeTool(next);
    expect(await sideEffectCount(next.idempotencyKey)).toBe(1);
  });

  it('runs concurrent duplicates once and gives them the same result', async () => {
    const workspace = await createWorkspace();
    const input = callInput(workspace, 'test_record_side_effect', { label: 'concurrent' });
    const results = await Promise.all([executeTool(input), executeTool(input), executeTool(input)]);
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
    expect(await sideEffectCount(input.idempotencyKey)).toBe(1);
  });

  it('records a tool error once too: the retry answers the same error', async () => {
    const workspace = await createWorkspace();
    const input = callInput(workspace, 'test_fail', { message: 'the payment provider said no' });
    const first = await executeTool(input);
    expect(first).toEqual({ isError: true, content: 'Error: the payment provider said no', output: null });
    expect(await executeTool(input)).toEqual(first);
    const stored = await pool.query('SELECT tool_name, is_error, content FROM tool_executions WHERE idempotency_key = $1', [input.idempotencyKey]);
    expect(stored.rows).toEqual([{ tool_name: 'test_fail', is_error: true, content: 'Error: the payment provider said no' }]);
  });
});

describe('errors the model reads instead of a failed turn', () => {
  it('turns unknown tools, disallowed tools and invalid arguments into error results', async () => {
    const workspace = await createWorkspace();
    expect(await executeTool(callInput(workspace, 'workspace_delete_everything', {}))).toEqual({
      isError: true,
      content: 'Error: Unknown tool "workspace_delete_everything"',
      output: null,
    });

    const disallowed = callInput(workspace, 'test_record_side_effect', { label: 'hidden' }, { allowedTools: ['*'] });
    expect(await executeTool(disallowed)).toEqual({
      isError: true,
      content: 'Error: Tool "test_record_side_effect" is not allowed for this agent',
      output: null,
    });
    expect(await sideEffectCount(disallowed.idempotencyKey)).toBe(0);

    const readOnly = await executeTool(callInput(workspace, 'workspace_write_file', { path: 'a.md', content: 'x' }, { allowedTools: ['workspace_read_file'] }));
    expect(readOnly.isError).toBe(true);
    expect(existsSync(path.join(filesRoot, workspace.workspaceId, 'a.md'))).toBe(false);

    const invalid = await executeTool(callInput(workspace, 'workspace_read_file', { file: 'a.md' }));
    expect(invalid.isError).toBe(true);
    expect(invalid.content).toMatch(/^Error: Invalid arguments for workspace_read_file: path: /);
  });

  it('throws when the database is unreachable, so Temporal retries the activity', async () => {
    const unreachable = new Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 1000 });
    try {
      const { executeTool: executeWithoutDatabase } = createToolActivities({ pool: unreachable, logger, workspaceFilesRoot: filesRoot });
      const workspace = { workspaceId: 'ws-unreachable', conversationId: 'conv-unreachable' };
      await expect(executeWithoutDatabase(callInput(workspace, 'workspace_list_files', {}))).rejects.toThrow(/ECONNREFUSED|connect/);
    } finally {
      await unreachable.end();
    }
  });
});
