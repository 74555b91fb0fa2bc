/**
 * Rate limits as clients meet them: per API key, per workspace (all its keys together, across API
 * processes, since the counts live in Redis) and per client address for failed authentications.
 * Over a limit: 429, `Retry-After`, a JSON error naming the limit; other workspaces go on.
 */
import { startApiProcess } from '../../src/api/main';
import type { RunningApi } from '../../src/api/server';
import { createLogger } from '../../src/logger';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;
let secondApi: RunningApi;

beforeAll(async () => {
  stack = await startTestStack({ environment: { RATE_LIMIT_PER_KEY: '5', RATE_LIMIT_PER_WORKSPACE: '8', RATE_LIMIT_PER_ADDRESS: '3', RATE_LIMIT_WINDOW_MS: '60000' } });
  // A second API process on the same Redis prefix: limits count requests to either.
  secondApi = await startApiProcess(stack.configuration, stack.configuration.temporal.address!, createLogger('warn', 'second-api'), 0);
}, 120_000);

afterAll(async () => {
  await secondApi?.stop();
  await stack?.stop();
}, 60_000);

async function get(baseUrl: string, apiKey: string, route = '/api/conversations') {
  const response = await fetch(`${baseUrl}${route}`, { headers: { authorization: `Bearer ${apiKey}` } });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.json() };
}

it('limits each key, then the workspace across API processes, with 429, Retry-After and the limit named', async () => {
  const created = await fetch(`${stack.apiUrl}/api/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ label: 'second key', role: 'member' }),
  });
  expect(created.status).toBe(201);
  const secondKey = (await created.json()).secret as string;

  // The first key: 1 (key creation) + 4 requests pass, the sixth is over its limit of 5.
  for (let index = 0; index < 4; index++) expect((await get(stack.apiUrl, stack.apiKey)).status).toBe(200);
  const overKey = await get(stack.apiUrl, stack.apiKey);
  expect(overKey.status).toBe(429);
  expect(Number(overKey.retryAfter)).toBeGreaterThan(0);
  expect(Number(overKey.retryAfter)).toBeLessThanOrEqual(60);
  expect(overKey.body.error).toMatchObject({ code: 'rate_limited', limit: 'key' });

  // The second key of the same workspace has its own key limit but shares the workspace's 8, on the other process.
  for (let index = 0; index < 3; index++) expect((await get(secondApi.url, secondKey)).status).toBe(200);
  const overWorkspace = await get(secondApi.url, secondKey);
  expect(overWorkspace.status).toBe(429);
  expect(overWorkspace.body.error).toMatchObject({ code: 'rate_limited', limit: 'workspace' });

  // Another workspace is not affected.
  const other = await stack.addWorkspace();
  expect((await get(stack.apiUrl, other.apiKey)).status).toBe(200);
});

it('limits failed authentications per address, and never a valid key from that address', async () => {
  const statuses: number[] = [];
  for (let index = 0; index < 4; index++) statuses.push((await get(stack.apiUrl, `dc_wrong-key-${index}`)).status);
  expect(statuses).toEqual([401, 401, 401, 429]);
  const refused = await get(stack.apiUrl, 'dc_wrong-key-again');
  expect(refused.body.error).toMatchObject({ code: 'rate_limited', limit: 'address' });
  expect(Number(refused.retryAfter)).toBeGreaterThan(0);
  // The same address (a NAT, a proxy) with a valid key: not held up by the bad ones.
  const valid = await stack.addWorkspace();
  expect((await get(stack.apiUrl, valid.apiKey)).status).toBe(200);
  expect((await get(secondApi.url, valid.apiKey)).status).toBe(200);
});
