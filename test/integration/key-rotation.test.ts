/**
 * Rotating the payload encryption key and the secrets key without downtime, as a rolling deploy does
 * it: generations of API + worker processes on one task queue, Redis and database, each with the key
 * rings of its step (README, "Rotating keys"):
 *
 *   A  old keys only                       (payload p1,    secrets s1)
 *   B  new keys added behind the old ones  (payload p1,p2, secrets s1,s2)
 *   C  new keys first                      (payload p2,p1, secrets s2,s1), then the stored secrets re-sealed
 *   D  old secrets key dropped             (payload p2,p1, secrets s2)
 *
 * At every step some generation serves; a turn started on one generation finishes on the next; every
 * turn of every step succeeds on the LLM connection whose key is sealed at rest.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { sealedKeyId } from '../../src/secrets/secret-box';
import { resealStoredSecrets } from '../../src/secrets/rotation';
import { parseKeyRing } from '../../src/secrets/key-ring';
import { startScriptedLlm, type ScriptedLlm } from '../../src/scripted-llm/server';
import type { ChatTurnResult } from '../../src/shared/turn';
import { apiClient } from '../support/api-client';
import { readSse, userMessage } from '../support/sse';
import { startTestStack, type TestStack } from '../support/stack';

const entry = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const p1 = entry('p1');
const p2 = entry('p2');
const s1 = entry('s1');
const s2 = entry('s2');
const providerKey = `sk-rotation-${randomUUID()}`;

let systemLlm: ScriptedLlm;
let provider: ScriptedLlm;
const running: TestStack[] = [];
const join = { taskQueue: `rotation-${randomUUID().slice(0, 8)}`, redisKeyPrefix: `dc-rotation-${randomUUID().slice(0, 8)}:` };

async function generation(payloadKeys: string, secretKeys: string): Promise<TestStack> {
  const stack = await startTestStack({ heartbeatTimeoutMs: 2000, join: { ...join, llm: systemLlm }, environment: { PAYLOAD_ENCRYPTION_KEYS: payloadKeys, SECRETS_ENCRYPTION_KEYS: secretKeys } });
  running.push(stack);
  return stack;
}

async function stop(stack: TestStack) {
  running.splice(running.indexOf(stack), 1);
  await stack.stop();
}

beforeAll(async () => {
  systemLlm = await startScriptedLlm();
  provider = await startScriptedLlm({ apiKey: providerKey, models: ['rotation-model'] });
});

afterAll(async () => {
  for (const stack of [...running].reverse()) await stack.stop();
  await provider?.close();
  await systemLlm?.close();
});

/** Starts a turn through the generation's API and returns its id once the stream has begun. */
async function startTurn(stack: TestStack, workspace: { workspaceId: string; apiKey: string }, agentId: string, text: string): Promise<{ turnId: string; done: Promise<void> }> {
  const chatId = `chat-${randomUUID()}`;
  const requestId = `msg-${randomUUID()}`;
  const response = await fetch(`${stack.apiUrl}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${workspace.apiKey}` },
    body: JSON.stringify({ id: chatId, messages: [userMessage(requestId, text)], agentId }),
  });
  expect(response.status).toBe(200);
  // The stream may be cut when its generation stops; the turn goes on regardless.
  const done = readSse(response).then(
    () => undefined,
    () => undefined,
  );
  return { turnId: stack.turnId(chatId, requestId, workspace.workspaceId), done };
}

async function resultOf(client: Client, turnId: string): Promise<ChatTurnResult> {
  return client.workflow.getHandle(turnId).result();
}

/** The key ids in the payload metadata of a turn's history, as the server stores them. */
async function payloadKeyIds(turnId: string, address: string): Promise<string[]> {
  const plain = new Client({ connection: await Connection.connect({ address }) });
  try {
    const history = await plain.workflow.getHandle(turnId).fetchHistory();
    const ids = new Set<string>();
    const visit = (value: unknown): void => {
      if (!value || typeof value !== 'object') return;
      const metadata = (value as { metadata?: Record<string, Uint8Array> }).metadata;
      const keyId = metadata?.['encryption-key-id'];
      if (keyId) ids.add(Buffer.from(keyId).toString('utf8'));
      for (const child of Object.values(value)) if (child && typeof child === 'object') visit(child);
    };
    visit(history.events);
    return [...ids].sort();
  } finally {
    await plain.connection.close();
  }
}

it('rotates payload and connection keys with no failed turn at any step', async () => {
  const a = await generation(p1, s1);
  const workspace = await a.addWorkspace();
  const adminA = apiClient(a.apiUrl, workspace.apiKey);
  const connection = (await adminA.post('/connections', { name: 'Rotating', provider: 'rotating', baseUrl: provider.url, apiKey: providerKey })).body.connection;
  const agentId = (await adminA.post('/agents', { name: 'Rotating agent', connectionId: connection.id, model: 'rotation-model', allowedTools: ['platform_*'] })).body.agent.id;
  // An MCP server's credentials are sealed the same way (the server need not answer to be registered).
  const mcpServer = await adminA.post('/mcp-servers', { name: 'rotating', transport: 'http', url: 'http://127.0.0.1:9/mcp', headers: { Authorization: `Bearer ${randomUUID()}` } });
  expect(mcpServer.status).toBe(201);
  const mcpKeyId = async (stack: TestStack) => sealedKeyId((await stack.pool.query('SELECT secret FROM mcp_servers WHERE id = $1', [mcpServer.body.server.id])).rows[0].secret);
  expect(await mcpKeyId(a)).toBe('s1');
  const storedKeyIds = async (stack: TestStack) =>
    (
      await stack.pool.query('SELECT v.secret FROM llm_connection_versions v JOIN llm_connections c ON c.id = v.connection_id WHERE c.workspace_id = $1 ORDER BY c.created_at', [
        workspace.workspaceId,
      ])
    ).rows.map((row) => sealedKeyId(row.secret));
  expect(await storedKeyIds(a)).toEqual(['s1']);

  const turnA = await startTurn(a, workspace, agentId, `Before any rotation ${randomUUID()}`);
  await turnA.done;

  // Step 1: B adds the new keys behind the old ones, while A still serves.
  const b = await generation(`${p1},${p2}`, `${s1},${s2}`);
  // A slow two-hop turn starts on A; A then stops, and B finishes it.
  const spanning = await startTurn(a, workspace, agentId, `use platform_workspace_info while A stops ${randomUUID()} [[ttft=700]]`);
  const turnB = await startTurn(b, workspace, agentId, `On B ${randomUUID()}`);
  await turnB.done;
  await stop(a);

  // Step 2: C puts the new keys first, while B still serves.
  const c = await generation(`${p2},${p1}`, `${s2},${s1}`);
  const adminC = apiClient(c.apiUrl, workspace.apiKey);
  const second = (await adminC.post('/connections', { name: 'Sealed with s2', provider: 'rotating', baseUrl: provider.url, apiKey: providerKey })).body.connection;
  const secondAgent = (await adminC.post('/agents', { name: 'On the new seal', connectionId: second.id, model: 'rotation-model' })).body.agent.id;
  expect(await storedKeyIds(c)).toEqual(['s1', 's2']);
  // B opens what C sealed, and C what A sealed.
  const turnBOnNewSeal = await startTurn(b, workspace, secondAgent, `B on s2 ${randomUUID()}`);
  const turnC = await startTurn(c, workspace, agentId, `C on s1 ${randomUUID()}`);
  await Promise.all([turnBOnNewSeal.done, turnC.done]);

  // Step 3: re-seal what is stored under the new key, while B and C serve.
  const reports = await resealStoredSecrets(c.pool, parseKeyRing(`${s2},${s1}`, 'SECRETS_ENCRYPTION_KEYS'));
  // Other test files share this database with their own keys: those rows are left alone.
  expect(reports).toEqual([expect.objectContaining({ store: 'llm connections', resealed: 1 }), expect.objectContaining({ store: 'mcp servers', resealed: 1 })]);
  expect(await storedKeyIds(c)).toEqual(['s2', 's2']);
  expect(await mcpKeyId(c)).toBe('s2');
  await stop(b);

  // Step 4: D drops the old secrets key (the old payload key stays while histories sealed with it are kept).
  const d = await generation(`${p2},${p1}`, s2);
  await stop(c);
  const turnD = await startTurn(d, workspace, agentId, `After the rotation ${randomUUID()}`);
  await turnD.done;

  for (const turn of [turnA, spanning, turnB, turnBOnNewSeal, turnC, turnD]) {
    const result = await resultOf(d.temporal, turn.turnId);
    expect([turn.turnId, result.finishReason]).toEqual([turn.turnId, 'stop']);
  }
  const spanningResult = await resultOf(d.temporal, spanning.turnId);
  expect(spanningResult.hops).toBe(2);
  expect(provider.requests.filter((request) => request.statusCode !== 200)).toEqual([]);
  expect(provider.requests.every((request) => request.headers.authorization === `Bearer ${providerKey}`)).toBe(true);

  const address = d.configuration.temporal.address!;
  expect(await payloadKeyIds(turnA.turnId, address)).toEqual(['p1']);
  expect(await payloadKeyIds(turnC.turnId, address)).toContain('p2');
  expect(await payloadKeyIds(turnD.turnId, address)).toEqual(['p2']);
});
