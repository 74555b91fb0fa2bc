/**
 * The management API on the real stack: connections, skills, agents, API keys and pricing, with
 * their bad input (a 4xx naming the field, nothing changed), roles (a member gets 403 on admin
 * routes, a revoked key 401 at once), and the OpenAPI document that describes every route.
 */
import { randomUUID } from 'node:crypto';
import { startScriptedLlm, type ScriptedLlm } from '../../src/scripted-llm/server';
import { apiClient, type ApiClient } from '../support/api-client';
import { validateOpenApi } from '../support/openapi-validator';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;
let admin: ApiClient;
let provider: ScriptedLlm;
const providerKey = `sk-provider-${randomUUID()}`;

beforeAll(async () => {
  stack = await startTestStack();
  provider = await startScriptedLlm({ apiKey: providerKey, models: ['provider-large', 'provider-small'] });
  const workspace = await stack.addWorkspace();
  admin = apiClient(stack.apiUrl, workspace.apiKey);
});

afterAll(async () => {
  await provider?.close();
  await stack?.stop();
});

async function createConnection(client: ApiClient, name = `conn-${randomUUID().slice(0, 8)}`) {
  const answer = await client.post('/connections', { name, provider: 'acme', baseUrl: `${provider.url}/`, apiKey: providerKey, headers: { 'x-team': 'red' } });
  expect(answer.status).toBe(201);
  return answer.body.connection as { id: string; name: string; version: number };
}

/** A stable picture of what the workspace holds, to prove a refused request changed nothing. */
async function snapshot(client: ApiClient) {
  const answers = await Promise.all(['/agents?limit=100', '/skills?limit=100', '/connections?limit=100', '/keys?limit=100&includeRevoked=true'].map((path) => client.get(path)));
  return JSON.stringify(answers.map((answer) => answer.body));
}

describe('the OpenAPI document', () => {
  it('is served without a key, is a valid OpenAPI 3.1 document, and documents every route', async () => {
    const response = await fetch(`${stack.apiUrl}/api/openapi.json`);
    expect(response.status).toBe(200);
    const document = await response.json();
    const validation = await validateOpenApi(document);
    expect(validation.errors).toEqual([]);
    expect(validation.valid).toBe(true);
    expect(document.openapi).toBe('3.1.0');
    const operations = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
    expect(operations).toEqual(
      expect.arrayContaining([
        'POST /api/chat',
        'GET /api/chat/{id}/stream',
        'POST /api/chat/{id}/stop',
        'POST /api/memories',
        'GET /api/memories',
        'DELETE /api/memories/{id}',
        'GET /api/memories/{id}',
        'PATCH /api/memories/{id}',
        'POST /api/documents',
        'GET /api/documents',
        'GET /api/documents/{id}',
        'GET /api/documents/{id}/chunks/{index}',
        'DELETE /api/documents/{id}',
        'GET /api/generated-images/{id}',
        'GET /api/attachments/{id}',
        'GET /api/conversations',
        'GET /api/usage',
        ...['agents', 'skills', 'connections'].flatMap((resource) => [
          `GET /api/${resource}`,
          `POST /api/${resource}`,
          `GET /api/${resource}/{id}`,
          `PATCH /api/${resource}/{id}`,
          `DELETE /api/${resource}/{id}`,
        ]),
        'GET /api/connections/{id}/models',
        'GET /api/keys',
        'POST /api/keys',
        'DELETE /api/keys/{id}',
        'GET /api/me',
        'GET /api/pricing',
        'PUT /api/pricing',
        'DELETE /api/pricing',
      ]),
    );
    const createAgent = document.paths['/api/agents'].post;
    expect(createAgent['x-required-role']).toBe('admin');
    expect(Object.keys(createAgent.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403', '409']));
    expect(createAgent.requestBody.content['application/json'].schema.required).toEqual(['name']);
  });

  it('is browsable at /api/docs', async () => {
    const response = await fetch(`${stack.apiUrl}/api/docs/`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('swagger-ui');
    const initializer = await fetch(`${stack.apiUrl}/api/docs/swagger-ui-init.js`);
    expect(await initializer.text()).toContain('/api/openapi.json');
  });
});

describe('connections', () => {
  it('stores a connection, never answers with its key, and versions changes', async () => {
    const created = await admin.post('/connections', { name: 'Acme', provider: 'acme', baseUrl: `${provider.url}/`, apiKey: providerKey, headers: { 'x-team': 'red' } });
    expect(created.status).toBe(201);
    expect(created.body.connection).toMatchObject({ name: 'Acme', provider: 'acme', baseUrl: provider.url, headerNames: ['x-team'], hasApiKey: true, version: 1 });
    expect(created.text).not.toContain(providerKey);
    expect(created.text).not.toContain('red');
    const id = created.body.connection.id;

    const read = await admin.get(`/connections/${id}`);
    expect(read.body.connection).toEqual(created.body.connection);
    const renamed = await admin.patch(`/connections/${id}`, { name: 'Acme main' });
    expect(renamed.body.connection).toMatchObject({ name: 'Acme main', version: 1 });
    const rekeyed = await admin.patch(`/connections/${id}`, { apiKey: `${providerKey}-next` });
    expect(rekeyed.body.connection).toMatchObject({ version: 2, headerNames: ['x-team'] });
    expect(rekeyed.text).not.toContain(providerKey);
    const restored = await admin.patch(`/connections/${id}`, { apiKey: providerKey });
    expect(restored.body.connection.version).toBe(3);

    const models = await admin.get(`/connections/${id}/models`);
    expect(models.body).toEqual({ listed: true, models: ['provider-large', 'provider-small'] });
    const modelRequest = await fetch(`${provider.url}/models`, { headers: { authorization: 'Bearer wrong' } });
    expect(modelRequest.status).toBe(401);
  });

  it('pages through connections by name', async () => {
    const client = apiClient(stack.apiUrl, (await stack.addWorkspace()).apiKey);
    for (const name of ['c', 'a', 'b']) await createConnection(client, name);
    const first = await client.get('/connections?limit=2');
    expect(first.body.data.map((connection: { name: string }) => connection.name)).toEqual(['a', 'b']);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await client.get(`/connections?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.data.map((connection: { name: string }) => connection.name)).toEqual(['c']);
    expect(second.body.nextCursor).toBeNull();
  });

  it('refuses to delete a connection agents use, listing them, and deletes it once they are gone', async () => {
    const connection = await createConnection(admin);
    const agent = (await admin.post('/agents', { name: `on-${connection.name}`, connectionId: connection.id, model: 'provider-large' })).body.agent;
    const refused = await admin.delete(`/connections/${connection.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'connection_in_use', field: 'id', agents: [{ id: agent.id, name: agent.name }] });
    expect((await admin.get(`/connections/${connection.id}`)).status).toBe(200);
    expect((await admin.delete(`/agents/${agent.id}`)).status).toBe(204);
    expect((await admin.delete(`/connections/${connection.id}`)).status).toBe(204);
    expect((await admin.get(`/connections/${connection.id}`)).status).toBe(404);
  });
});

describe('skills and agents', () => {
  it('versions skills, pins or follows them from agents, and refuses cycles and skills in use', async () => {
    const tone = (await admin.post('/skills', { name: 'tone', instructions: 'Be brief.' })).body.skill;
    expect(tone).toMatchObject({ name: 'tone', version: 1, currentVersion: 1, includes: [] });
    const research = await admin.post('/skills', { name: 'research', instructions: 'Search first.', allowedTools: ['search_knowledge'], toolHints: ['search_knowledge'], includes: ['tone'] });
    expect(research.status).toBe(201);
    expect(research.body.skill.includes).toEqual([{ id: tone.id, name: 'tone', version: null }]);

    const changed = await admin.patch(`/skills/${tone.id}`, { instructions: 'Be very brief.' });
    expect(changed.body.skill).toMatchObject({ version: 2, currentVersion: 2, instructions: 'Be very brief.' });
    const past = await admin.get(`/skills/${tone.id}?version=1`);
    expect(past.body).toMatchObject({ skill: { version: 1, currentVersion: 2, instructions: 'Be brief.' }, versions: [1, 2] });
    const renamedOnly = await admin.patch(`/skills/${tone.id}`, { description: 'House style' });
    expect(renamedOnly.body.skill.version).toBe(2);

    const cycle = await admin.patch(`/skills/${tone.id}`, { includes: ['research'] });
    expect(cycle.status).toBe(400);
    expect(cycle.body.error).toMatchObject({ code: 'circular_skill_reference', field: 'includes' });
    expect(cycle.body.error.message).toContain('tone → research → tone');

    const agent = await admin.post('/agents', { name: 'Researcher', skills: ['research', { skill: 'tone', version: 1 }], allowedTools: ['platform_*'] });
    expect(agent.status).toBe(201);
    expect(agent.body.agent.skills).toEqual([
      { id: research.body.skill.id, name: 'research', version: null },
      { id: tone.id, name: 'tone', version: 1 },
    ]);
    const inUse = await admin.delete(`/skills/${tone.id}`);
    expect(inUse.status).toBe(409);
    expect(inUse.body.error.agents).toEqual([{ id: agent.body.agent.id, name: 'Researcher' }]);
    expect(inUse.body.error.skills).toEqual([{ id: research.body.skill.id, name: 'research' }]);
  });

  it('moves the default agent and refuses to delete it', async () => {
    const client = apiClient(stack.apiUrl, (await stack.addWorkspace()).apiKey);
    const listed = await client.get('/agents');
    const seeded = listed.body.data.find((agent: { isDefault: boolean }) => agent.isDefault);
    expect((await client.delete(`/agents/${seeded.id}`)).status).toBe(409);
    const next = await client.post('/agents', { name: 'Next default', isDefault: true });
    expect(next.body.agent.isDefault).toBe(true);
    expect((await client.get(`/agents/${seeded.id}`)).body.agent.isDefault).toBe(false);
    expect((await client.patch(`/agents/${next.body.agent.id}`, { isDefault: false })).status).toBe(409);
    expect((await client.delete(`/agents/${seeded.id}`)).status).toBe(204);
  });

  it('warns, and does not refuse, when the endpoint cannot list models', async () => {
    const closed = await startScriptedLlm();
    const url = closed.url;
    await closed.close();
    const connection = (await admin.post('/connections', { name: `down-${randomUUID().slice(0, 6)}`, provider: 'down', baseUrl: url, apiKey: 'k-down-0000' })).body.connection;
    const agent = await admin.post('/agents', { name: `down-${connection.id}`, connectionId: connection.id, model: 'anything' });
    expect(agent.status).toBe(201);
    expect(agent.body.warnings).toEqual(['Models were not checked: the endpoint could not be reached to list its models.']);
  });
});

describe('bad input changes nothing', () => {
  let connectionId: string;
  let skillId: string;
  let agentId: string;

  beforeAll(async () => {
    connectionId = (await createConnection(admin, 'bad-input-connection')).id;
    skillId = (await admin.post('/skills', { name: 'bad-input-skill' })).body.skill.id;
    agentId = (await admin.post('/agents', { name: 'bad-input-agent' })).body.agent.id;
  });

  it.each<[string, 'post' | 'patch' | 'put' | 'delete' | 'get', () => string, unknown, number, string, string]>([
    ['an unknown connection', 'post', () => '/agents', { name: 'x1', connectionId: 'conn_nope', model: 'provider-large' }, 400, 'unknown_connection', 'connectionId'],
    ['a model the connection does not list', 'post', () => '/agents', { name: 'x2', connectionId: 'CONNECTION', model: 'gpt-imaginary' }, 400, 'model_not_listed', 'model'],
    ['a fallback model the connection does not list', 'post', () => '/agents', { name: 'x3', connectionId: 'CONNECTION', model: 'provider-large', fallbackModels: ['provider-small', 'nope'] }, 400, 'model_not_listed', 'fallbackModels.1'],
    ['a deployment model the endpoint does not list', 'post', () => '/agents', { name: 'x4', model: 'gpt-imaginary' }, 400, 'model_not_listed', 'model'],
    ['a connection without a model', 'post', () => '/agents', { name: 'x5', connectionId: 'CONNECTION' }, 400, 'invalid_request', 'model'],
    ['a tool pattern that matches no tool', 'post', () => '/agents', { name: 'x6', allowedTools: ['platform_*', 'nothing_*'] }, 400, 'unknown_tool', 'allowedTools.1'],
    ['a malformed tool pattern', 'post', () => '/agents', { name: 'x7', allowedTools: ['plat*form'] }, 400, 'invalid_request', 'allowedTools.0'],
    ['a missing skill', 'post', () => '/agents', { name: 'x8', skills: ['no-such-skill'] }, 400, 'unknown_skill', 'skills.0'],
    ['a missing skill version', 'post', () => '/agents', { name: 'x9', skills: [{ skill: 'bad-input-skill', version: 9 }] }, 400, 'unknown_skill_version', 'skills.0'],
    ['a duplicate agent name', 'post', () => '/agents', { name: 'bad-input-agent' }, 409, 'duplicate_name', 'name'],
    ['an unknown field', 'post', () => '/agents', { name: 'x10', modle: 'typo' }, 400, 'invalid_request', 'modle'],
    ['an out-of-range limit', 'post', () => '/agents', { name: 'x11', maxHops: 0 }, 400, 'invalid_request', 'maxHops'],
    ['an empty change', 'patch', () => `/agents/${agentId}`, {}, 400, 'invalid_request', 'body'],
    ['a duplicate name on rename', 'patch', () => `/agents/${agentId}`, { name: 'Assistant' }, 409, 'duplicate_name', 'name'],
    ['an agent of nobody', 'patch', () => '/agents/agent_nope', { name: 'y' }, 404, 'agent_not_found', 'id'],
    ['a missing include', 'post', () => '/skills', { name: 's1', includes: ['ghost'] }, 400, 'unknown_skill', 'includes.0'],
    ['a skill tool hint matching no tool', 'post', () => '/skills', { name: 's2', toolHints: ['ghost_tool'] }, 400, 'unknown_tool', 'toolHints.0'],
    ['a self include', 'patch', () => `/skills/${skillId}`, { includes: ['bad-input-skill'] }, 400, 'circular_skill_reference', 'includes'],
    ['a duplicate skill name', 'post', () => '/skills', { name: 'bad-input-skill' }, 409, 'duplicate_name', 'name'],
    ['a base URL with credentials', 'post', () => '/connections', { name: 'c1', provider: 'p', baseUrl: 'https://user:pw@example.com/v1', apiKey: 'k-1234567' }, 400, 'invalid_request', 'baseUrl'],
    ['a base URL that is not http', 'post', () => '/connections', { name: 'c2', provider: 'p', baseUrl: 'ftp://example.com/v1', apiKey: 'k-1234567' }, 400, 'invalid_request', 'baseUrl'],
    ['a reserved header', 'post', () => '/connections', { name: 'c3', provider: 'p', baseUrl: 'https://example.com/v1', apiKey: 'k-1234567', headers: { Host: 'evil' } }, 400, 'invalid_request', 'headers.Host'],
    ['a connection without a key', 'post', () => '/connections', { name: 'c4', provider: 'p', baseUrl: 'https://example.com/v1' }, 400, 'invalid_request', 'apiKey'],
    ['a duplicate connection name', 'post', () => '/connections', { name: 'bad-input-connection', provider: 'p', baseUrl: 'https://example.com/v1', apiKey: 'k-1234567' }, 409, 'duplicate_name', 'name'],
    ['a page limit out of range', 'get', () => '/agents?limit=500', undefined, 400, 'invalid_request', 'limit'],
    ['a forged cursor', 'get', () => '/skills?cursor=bm9wZQ', undefined, 400, 'invalid_request', 'cursor'],
    ['a key with an unknown role', 'post', () => '/keys', { label: 'k', role: 'owner' }, 400, 'invalid_request', 'role'],
    ['a key for an unknown user', 'post', () => '/keys', { label: 'k', role: 'member', userId: 'user_nope' }, 400, 'unknown_user', 'userId'],
    ['a negative price', 'put', () => '/pricing', { model: 'm', inputUsdPerMillion: -1, outputUsdPerMillion: 1 }, 400, 'invalid_request', 'inputUsdPerMillion'],
    ['a body that is not JSON', 'post', () => '/skills', '{"name":', 400, 'invalid_json', ''],
  ])('refuses %s', async (_case, method, path, body, status, code, field) => {
    const before = await snapshot(admin);
    const payload = typeof body === 'object' && body !== null ? JSON.parse(JSON.stringify(body).replace('"CONNECTION"', JSON.stringify(connectionId))) : body;
    const answer = method === 'get' || method === 'delete' ? await admin[method](path()) : await admin[method](path(), payload);
    expect(answer.status).toBe(status);
    expect(answer.body.error.code).toBe(code);
    if (field) {
      expect(answer.body.error.field).toBe(field);
      expect(answer.body.error.message).toContain(field === 'body' ? 'must change' : field);
    }
    expect(await snapshot(admin)).toBe(before);
  });
});

describe('API keys and roles', () => {
  it('shows a new secret once, lets a member chat but not manage, and a revoked key gets 401 at once', async () => {
    const created = await admin.post('/keys', { label: 'Ann', role: 'member' });
    expect(created.status).toBe(201);
    const secret: string = created.body.secret;
    expect(secret).toMatch(/^dc_/);
    const listed = await admin.get('/keys');
    expect(listed.text).not.toContain(secret);
    expect(listed.body.data.map((key: { id: string }) => key.id)).toContain(created.body.key.id);

    const member = apiClient(stack.apiUrl, secret);
    expect((await member.get('/me')).body).toMatchObject({ role: 'member', userId: created.body.key.userId });
    expect((await member.get('/agents')).status).toBe(200);
    for (const [method, path, body] of [
      ['post', '/agents', { name: 'nope' }],
      ['get', '/connections', undefined],
      ['get', '/skills', undefined],
      ['post', '/keys', { label: 'x', role: 'admin' }],
      ['put', '/pricing', { model: 'm', inputUsdPerMillion: 1, outputUsdPerMillion: 1 }],
      ['get', '/usage', undefined],
    ] as const) {
      const answer = method === 'get' ? await member.get(path) : await member[method](path, body);
      expect([path, answer.status, answer.body.error.code]).toEqual([path, 403, 'forbidden']);
    }

    const revoked = await admin.delete(`/keys/${created.body.key.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.key.revokedAt).toEqual(expect.any(String));
    expect((await member.get('/me')).status).toBe(401);
    expect((await admin.get('/keys')).body.data.map((key: { id: string }) => key.id)).not.toContain(created.body.key.id);
  });

  it('keeps the last admin key', async () => {
    const { apiKey } = await stack.addWorkspace();
    const client = apiClient(stack.apiUrl, apiKey);
    const me = (await client.get('/me')).body;
    const refused = await client.delete(`/keys/${me.keyId}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('last_admin_key');
    expect((await client.get('/me')).status).toBe(200);
  });
});

describe('pricing', () => {
  it("lists the deployment's prices and lets a workspace set and remove its own", async () => {
    const client = apiClient(stack.apiUrl, (await stack.addWorkspace()).apiKey);
    const listed = await client.get('/pricing');
    expect(listed.body.data).toContainEqual(expect.objectContaining({ model: 'gpt-4o', inputUsdPerMillion: 2.5, outputUsdPerMillion: 10, source: 'deployment' }));
    const set = await client.put('/pricing', { model: 'gpt-4o', inputUsdPerMillion: 1, outputUsdPerMillion: 2 });
    expect(set.body.price).toMatchObject({ model: 'gpt-4o', inputUsdPerMillion: 1, outputUsdPerMillion: 2, source: 'workspace' });
    expect((await client.get('/pricing')).body.data).toContainEqual(expect.objectContaining({ model: 'gpt-4o', inputUsdPerMillion: 1, source: 'workspace' }));
    // Another workspace still pays the list price.
    expect((await admin.get('/pricing')).body.data).toContainEqual(expect.objectContaining({ model: 'gpt-4o', inputUsdPerMillion: 2.5, source: 'deployment' }));
    expect((await client.delete('/pricing?model=gpt-4o')).status).toBe(204);
    expect((await client.delete('/pricing?model=gpt-4o')).status).toBe(404);
  });
});
