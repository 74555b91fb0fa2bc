/**
 * Payload encryption, proved with a canary: with a key configured, a secret sentence in a user
 * message never appears in the raw history bytes the Temporal server stores, and it does appear when
 * an operator decodes the payload through the codec endpoint with the token (and not without it).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { readSse, userMessage } from '../support/sse';
import { startTestStack, type TestStack } from '../support/stack';

const codecToken = randomBytes(24).toString('hex');
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({
    environment: {
      PAYLOAD_ENCRYPTION_KEYS: `key-2:${randomBytes(32).toString('base64')},key-1:${randomBytes(32).toString('base64')}`,
      CODEC_AUTH_TOKEN: codecToken,
    },
  });
});

afterAll(async () => {
  await stack?.stop();
});

it('stores only ciphertext in Temporal and decodes through the codec endpoint for token holders', async () => {
  const chatId = `chat-${randomUUID()}`;
  const requestId = `msg-${randomUUID()}`;
  const canary = `The canary ${randomUUID()} sings at midnight`;
  await readSse(
    await fetch(`${stack.apiUrl}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.apiKey}` },
      body: JSON.stringify({ id: chatId, messages: [userMessage(requestId, canary)] }),
    }),
  );
  const workflowId = stack.turnId(chatId, requestId);
  // The stack's own client has the codec: the turn works end to end.
  expect((await stack.temporal.workflow.getHandle(workflowId).result()).text).toBe(`You said: ${canary}`);

  // A client without the codec sees what the server stores.
  const plain = new Client({ connection: await Connection.connect({ address: stack.configuration.temporal.address! }) });
  try {
    const history = await plain.workflow.getHandle(workflowId).fetchHistory();
    const raw = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
    expect(raw.includes(Buffer.from('canary'))).toBe(false);
    expect(raw.includes(Buffer.from('binary/encrypted'))).toBe(true);

    const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    expect(input).toBeDefined();
    const body = JSON.stringify({
      payloads: [
        {
          metadata: Object.fromEntries(Object.entries(input!.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value).toString('base64')])),
          data: Buffer.from(input!.data ?? new Uint8Array()).toString('base64'),
        },
      ],
    });
    const withoutToken = await fetch(`${stack.apiUrl}/codec/decode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(withoutToken.status).toBe(401);
    const decoded = await fetch(`${stack.apiUrl}/codec/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${codecToken}`, origin: 'http://localhost:8233' },
      body,
    });
    expect(decoded.status).toBe(200);
    expect(decoded.headers.get('access-control-allow-origin')).toBe('http://localhost:8233');
    const payload = (await decoded.json()).payloads[0];
    expect(Buffer.from(payload.data, 'base64').toString('utf8')).toContain(canary);
  } finally {
    await plain.connection.close();
  }
});
