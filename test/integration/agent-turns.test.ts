/**
 * Agents in real turns (Temporal, Postgres, Redis, and two more scripted OpenAI-compatible servers on
 * their own ports as two providers, each accepting only its own key): per-agent connections and
 * models, BYOK and provider in usage, `useSystemLlm`, skills merged and recorded, tool selection by
 * hints and search with a cap, a running turn that keeps its configuration, and per-user isolation.
 */
import { DATA_BOUNDARY_INSTRUCTION } from '../../src/llm/data-boundary';
import { randomUUID } from 'node:crypto';
import { startScriptedLlm, type ScriptedLlm } from '../../src/scripted-llm/server';
import type { TurnState } from '../../src/shared/turn';
import { apiClient, type ApiClient } from '../support/api-client';
import { recordedActivation } from '../support/history';
import { answerRequests, runTurn } from '../support/chat';
import { chunksOf, readSse, textOf, userMessage } from '../support/sse';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;
let alpha: ScriptedLlm;
let beta: ScriptedLlm;
let workspace: { workspaceId: string; apiKey: string };
let admin: ApiClient;
const alphaKey = `sk-alpha-${randomUUID()}`;
const betaKey = `sk-beta-${randomUUID()}`;

beforeAll(async () => {
  stack = await startTestStack();
  alpha = await startScriptedLlm({ apiKey: alphaKey, models: ['alpha-1'] });
  beta = await startScriptedLlm({ apiKey: betaKey, models: ['beta-1', 'beta-2'] });
  workspace = await stack.addWorkspace();
  admin = apiClient(stack.apiUrl, workspace.apiKey);
});

afterAll(async () => {
  await alpha?.close();
  await beta?.close();
  await stack?.stop();
});

async function created(answer: Promise<{ status: number; body: Record<string, Record<string, string>> }>, kind: string): Promise<string> {
  const result = await answer;
  expect([kind, result.status]).toEqual([kind, 201]);
  return result.body[kind]!.id!;
}

/** One turn through `POST /api/chat` with a key of the test's workspace, read to its end. */
async function turn(apiKey: string, text: string, extra: Record<string, unknown> = {}, chatId = `chat-${randomUUID()}`) {
  const run = await runTurn(stack, chatId, text, { apiKey, extra });
  const turnId = stack.turnId(chatId, run.requestId, workspace.workspaceId);
  // The memory extraction (usage hop −2) runs after the stream: wait for the whole turn.
  await stack.temporal.workflow.getHandle(turnId).result().catch(() => undefined);
  return { ...run, turnId };
}

/** The turns' own model requests that carry the fragment (see `answerRequests`). */
function requestsWith(llm: ScriptedLlm, marker: string) {
  return answerRequests(llm, marker);
}

/** Usage of the answer's hops (hop −2, the memory extraction, runs after the stream and may still be going). */
async function usageRows(turnId: string) {
  return (await stack.pool.query('SELECT hop, model, byok, provider, connection_id, cost_usd FROM llm_usage WHERE turn_id = $1 AND hop >= 0 ORDER BY hop', [turnId])).rows;
}

describe('agents on their own connections', () => {
  let alphaConnection: string;
  let betaConnection: string;
  let alphaAgent: string;
  let betaAgent: string;

  beforeAll(async () => {
    alphaConnection = await created(admin.post('/connections', { name: 'Alpha', provider: 'alpha', baseUrl: alpha.url, apiKey: alphaKey, headers: { 'x-team': 'alpha-team' } }), 'connection');
    betaConnection = await created(admin.post('/connections', { name: 'Beta', provider: 'beta', baseUrl: beta.url, apiKey: betaKey }), 'connection');
    alphaAgent = await created(admin.post('/agents', { name: 'On alpha', connectionId: alphaConnection, model: 'alpha-1', allowedTools: ['platform_*'] }), 'agent');
    betaAgent = await created(admin.post('/agents', { name: 'On beta', connectionId: betaConnection, model: 'beta-1', fallbackModels: ['beta-2'] }), 'agent');
  });

  it('sends each agent to its own endpoint with its own key and headers, and records BYOK with the provider', async () => {
    const alphaMarker = `alpha-${randomUUID()}`;
    const betaMarker = `beta-${randomUUID()}`;
    const [onAlpha, onBeta] = await Promise.all([
      turn(workspace.apiKey, `Please answer ${alphaMarker}`, { agentId: alphaAgent }),
      turn(workspace.apiKey, `Please answer ${betaMarker}`, { agentId: betaAgent }),
    ]);
    expect(onAlpha.text).toBe(`You said: Please answer ${alphaMarker}`);
    expect(onBeta.text).toBe(`You said: Please answer ${betaMarker}`);

    const [alphaRequest] = requestsWith(alpha, alphaMarker);
    expect(alphaRequest).toMatchObject({ model: 'alpha-1', statusCode: 200, headers: { authorization: `Bearer ${alphaKey}`, 'x-team': 'alpha-team' } });
    const [betaRequest] = requestsWith(beta, betaMarker);
    expect(betaRequest).toMatchObject({ model: 'beta-1', statusCode: 200, headers: { authorization: `Bearer ${betaKey}` } });
    expect(betaRequest!.headers).not.toHaveProperty('x-team');
    expect(requestsWith(alpha, betaMarker)).toEqual([]);
    expect(requestsWith(beta, alphaMarker)).toEqual([]);
    expect(requestsWith(stack.llm, alphaMarker)).toEqual([]);
    expect(requestsWith(stack.llm, betaMarker)).toEqual([]);

    expect(await usageRows(onAlpha.turnId)).toEqual([expect.objectContaining({ hop: 0, model: 'alpha-1', byok: true, provider: 'alpha', connection_id: alphaConnection })]);
    expect(await usageRows(onBeta.turnId)).toEqual([expect.objectContaining({ hop: 0, model: 'beta-1', byok: true, provider: 'beta', connection_id: betaConnection })]);

    const activation = await recordedActivation(stack.temporal, onBeta.turnId);
    expect(activation).toMatchObject({ model: 'beta-1', fallbackModels: ['beta-2'], connection: { id: betaConnection, version: 1, name: 'Beta', provider: 'beta', byok: true } });
    expect(JSON.stringify(activation)).not.toContain(betaKey);
  });

  it("runs the default agent and useSystemLlm on the deployment's endpoint, not BYOK", async () => {
    const marker = `system-${randomUUID()}`;
    const plain = await turn(workspace.apiKey, `Plain ${marker}`);
    const system = await turn(workspace.apiKey, `System ${marker}`, { agentId: alphaAgent, useSystemLlm: true });
    expect(requestsWith(stack.llm, marker).map((request) => [request.model, request.headers.authorization])).toEqual([
      ['scripted-1', 'Bearer scripted-test-key'],
      ['scripted-1', 'Bearer scripted-test-key'],
    ]);
    expect(requestsWith(alpha, marker)).toEqual([]);
    for (const finished of [plain, system]) {
      expect(await usageRows(finished.turnId)).toEqual([expect.objectContaining({ model: 'scripted-1', byok: false, provider: 'scripted', connection_id: null })]);
    }
  });

  it('reports usage by provider with its BYOK hops', async () => {
    const answer = await admin.get('/usage?groupBy=provider');
    expect(answer.status).toBe(200);
    const byProvider = Object.fromEntries(answer.body.rows.map((row: { provider: string; byokHops: number; hops: number }) => [row.provider, [row.hops, row.byokHops]]));
    // Each turn: its answer hop and the memory extraction after it, both on the agent's own connection.
    expect(byProvider.alpha).toEqual([2, 2]);
    expect(byProvider.beta).toEqual([2, 2]);
    expect(byProvider.scripted[1]).toBe(0);
  });

  it("prices a hop with the workspace's own price", async () => {
    expect((await admin.put('/pricing', { model: 'alpha-1', inputUsdPerMillion: 1000, outputUsdPerMillion: 2000 })).status).toBe(200);
    const priced = await turn(workspace.apiKey, `Price this ${randomUUID()}`, { agentId: alphaAgent });
    const [row] = await stack.pool.query('SELECT input_tokens, output_tokens, cost_usd FROM llm_usage WHERE turn_id = $1', [priced.turnId]).then((result) => result.rows);
    expect(Number(row.cost_usd)).toBeCloseTo((row.input_tokens * 1000 + row.output_tokens * 2000) / 1_000_000, 8);
    expect(Number(row.cost_usd)).toBeGreaterThan(0);
  });

  it('keeps the configuration a running turn was activated with; the next turn takes the change', async () => {
    const marker = `running-${randomUUID()}`;
    // Two hops (a tool round), each waiting 1.5 s before its first token: the change lands during hop 0.
    const running = turn(workspace.apiKey, `use platform_workspace_info ${marker} [[ttft=1500]]`, { agentId: alphaAgent });
    const hopZero = await alpha.waitForRequest((request) => JSON.stringify(request.messages).includes(marker), 10_000);
    const patchedConnection = await admin.patch(`/connections/${alphaConnection}`, { headers: { 'x-team': 'alpha-team-v2' } });
    const patchedAgent = await admin.patch(`/agents/${alphaAgent}`, { systemPrompt: 'You are the new persona.' });
    expect([patchedConnection.status, patchedAgent.status]).toEqual([200, 200]);
    expect(hopZero.outcome).toBe('in-progress');
    const finished = await running;
    expect(finished.chunks).toContainEqual(expect.objectContaining({ type: 'tool-output-available' }));

    const hops = requestsWith(alpha, marker);
    expect(hops).toHaveLength(2);
    for (const hop of hops) {
      expect(hop.headers['x-team']).toBe('alpha-team');
      expect(JSON.stringify(hop.messages[0])).not.toContain('new persona');
    }
    const nextMarker = `next-${randomUUID()}`;
    await turn(workspace.apiKey, `Next ${nextMarker}`, { agentId: alphaAgent });
    const [next] = requestsWith(alpha, nextMarker);
    expect(next!.headers['x-team']).toBe('alpha-team-v2');
    expect((next!.messages[0] as { content: string }).content).toContain('You are the new persona.');
    expect((await recordedActivation(stack.temporal, finished.turnId)).connection).toMatchObject({ version: 1 });
  });
});

describe('skills in a turn', () => {
  it('merges skill instructions into the prompt and records the skill versions used', async () => {
    const style = await created(admin.post('/skills', { name: 'house-style', instructions: 'Answer in the house style.' }), 'skill');
    const research = await created(admin.post('/skills', { name: 'research', instructions: 'Search the knowledge first.', allowedTools: ['search_knowledge'], toolHints: ['search_knowledge'], includes: ['house-style'] }), 'skill');
    const agentId = await created(admin.post('/agents', { name: 'Researcher', systemPrompt: 'You are a researcher.', skills: ['research'] }), 'agent');

    const marker = `skills-${randomUUID()}`;
    const first = await turn(workspace.apiKey, `Tell me about ${marker}`, { agentId });
    const [request] = requestsWith(stack.llm, marker);
    expect((request!.messages[0] as { content: string }).content).toBe(
      // The skills in order, then the data boundary every prompt ends with.
      `You are a researcher.\n\n## Skill: house-style\nAnswer in the house style.\n\n## Skill: research\nSearch the knowledge first.${DATA_BOUNDARY_INSTRUCTION}`,
    );
    expect(request!.tools?.map((tool) => tool.function?.name)).toEqual(['search_knowledge']);
    expect((await recordedActivation(stack.temporal, first.turnId)).skills).toEqual([
      { id: style, name: 'house-style', version: 1 },
      { id: research, name: 'research', version: 1 },
    ]);
    const state = await stack.temporal.workflow.getHandle(first.turnId).query<TurnState>('state');
    expect(state.activation).toMatchObject({ agentId, skills: [{ name: 'house-style', version: 1 }, { name: 'research', version: 1 }], tools: ['search_knowledge'] });

    await admin.patch(`/skills/${style}`, { instructions: 'Answer in the new house style.' });
    const second = await turn(workspace.apiKey, `Tell me more about ${marker}`, { agentId });
    expect((await recordedActivation(stack.temporal, second.turnId)).skills).toEqual([
      { id: style, name: 'house-style', version: 2 },
      { id: research, name: 'research', version: 1 },
    ]);
  });
});

describe('tool selection in a turn', () => {
  let agentId: string;

  beforeAll(async () => {
    agentId = await created(admin.post('/agents', { name: 'Tool user', allowedTools: ['*'], maxTools: 2 }), 'agent');
  });

  it('offers the hinted tools first, then search results, capped at the agent maximum, and records the choice', async () => {
    const marker = `hints-${randomUUID()}`;
    const finished = await turn(workspace.apiKey, `Which files do I have? ${marker}`, { agentId, toolHints: ['platform_workspace_info'] });
    const [request] = requestsWith(stack.llm, marker);
    expect(request!.tools?.map((tool) => tool.function?.name)).toEqual(['platform_workspace_info', 'workspace_list_files']);
    expect((await recordedActivation(stack.temporal, finished.turnId)).toolSelection).toEqual({
      cap: 2,
      tools: [
        { name: 'platform_workspace_info', reason: 'hint' },
        { name: 'workspace_list_files', reason: 'search' },
      ],
    });
  });

  it('narrows the allowed tools by the message and runs the tool it named', async () => {
    const marker = `search-${randomUUID()}`;
    const finished = await turn(workspace.apiKey, `use platform_list_agents to show the agents ${marker}`, { agentId });
    const [request] = requestsWith(stack.llm, marker);
    expect(request!.tools?.map((tool) => tool.function?.name)).toEqual(['platform_list_agents']);
    expect(finished.chunks).toContainEqual(expect.objectContaining({ type: 'tool-output-available' }));
    expect(finished.text).toContain('Tool results:');
  });

  it('refuses a hint that matches no tool before starting anything', async () => {
    const chatId = `chat-${randomUUID()}`;
    const response = await fetch(`${stack.apiUrl}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${workspace.apiKey}` },
      body: JSON.stringify({ id: chatId, messages: [userMessage(`msg-${randomUUID()}`, 'hello there friend')], agentId, toolHints: ['platform_list_agents', 'nope_tool'] }),
    });
    expect(response.status).toBe(400);
    expect((await response.json()).error).toMatchObject({ code: 'invalid_request', field: 'toolHints.1' });
    expect((await stack.pool.query('SELECT 1 FROM conversations WHERE chat_id = $1', [chatId])).rowCount).toBe(0);
  });
});

describe('per-user isolation', () => {
  it("lets a member read, resume and stop only its own chats; an admin sees the workspace's", async () => {
    const ann = (await admin.post('/keys', { label: 'Ann', role: 'member' })).body.secret as string;
    const bob = (await admin.post('/keys', { label: 'Bob', role: 'member' })).body.secret as string;
    const stranger = await stack.addWorkspace();
    const annsChat = await turn(ann, `A private question ${randomUUID()}`);

    const headers = (key: string) => ({ authorization: `Bearer ${key}` });
    const resume = (key: string) => fetch(`${stack.apiUrl}/api/chat/${annsChat.chatId}/stream`, { headers: headers(key) });
    const stop = (key: string) => fetch(`${stack.apiUrl}/api/chat/${annsChat.chatId}/stop`, { method: 'POST', headers: headers(key) });

    // To another member, and to another workspace, Ann's chat is one that does not exist.
    for (const key of [bob, stranger.apiKey]) {
      expect((await resume(key)).status).toBe(204);
      const stopped = await stop(key);
      expect(await stopped.json()).toEqual({ stopped: false });
    }
    // Bob cannot continue it (the chat id is taken in the workspace); the stranger's workspace has its own chat of that id.
    const continueAs = (key: string) =>
      fetch(`${stack.apiUrl}/api/chat`, {
        method: 'POST',
        headers: { ...headers(key), 'content-type': 'application/json' },
        body: JSON.stringify({ id: annsChat.chatId, messages: [userMessage(`msg-${randomUUID()}`, 'let me in')] }),
      });
    const bobContinues = await continueAs(bob);
    expect(bobContinues.status).toBe(404);
    expect((await bobContinues.json()).error.code).toBe('chat_not_found');
    const ownResume = await resume(ann);
    expect(ownResume.status).toBe(200);
    expect(textOf(chunksOf(await readSse(ownResume)))).toBe(annsChat.text);
    const adminResume = await resume(workspace.apiKey);
    expect(adminResume.status).toBe(200);
    await adminResume.body?.cancel();
    expect((await stop(ann)).status).toBe(200);
    expect((await stop(workspace.apiKey)).status).toBe(200);
    expect((await stack.pool.query("SELECT count(*)::integer AS count FROM chat_events WHERE conversation_id = $1 AND role = 'user'", [stack.conversationKey(annsChat.chatId, workspace.workspaceId)])).rows[0].count).toBe(1);

    // A revoked member key is refused at once, on the chat routes too.
    const annKeyId = (await apiClient(stack.apiUrl, ann).get('/me')).body.keyId;
    expect((await admin.delete(`/keys/${annKeyId}`)).status).toBe(200);
    expect((await resume(ann)).status).toBe(401);
  });
});
