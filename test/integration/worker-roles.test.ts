/**
 * Worker roles (WORKER_ROLE): a `workflows` process runs the turn's workflow tasks and its local steps
 * and never polls activities; an `activities` process runs the model hops. A turn started with only
 * the workflows process waits at its model hop (nothing is lost, nothing reaches the model), and
 * streams to the client as soon as an activities process joins the task queue.
 */
import { randomUUID } from 'node:crypto';
import { createLogger } from '../../src/logger';
import { answerRequests, postChat, storedAnswerText } from '../support/chat';
import { eventually } from '../support/eventually';
import { chunksOf, readSse, textOf, userMessage } from '../support/sse';
import { startTestStack, type TestStack } from '../support/stack';
import { startWorker, type RunningWorker } from '../../worker';

const ACTIVITIES_IDENTITY = 'activities-role@test';

let stack: TestStack;
let activities: RunningWorker | undefined;

beforeAll(async () => {
  stack = await startTestStack({ environment: { WORKER_ROLE: 'workflows' } });
});

afterAll(async () => {
  if (activities) {
    activities.worker.shutdown();
    await activities.done;
  }
  await stack?.stop();
});

it('the workflows process holds the turn at its model hop until an activities process joins, which then streams the answer', async () => {
  const chatId = `chat-${randomUUID()}`;
  const requestId = `msg-${randomUUID()}`;
  const responsePromise = postChat(stack, { id: chatId, messages: [userMessage(requestId, 'Which process answers roles?')] }, { headers: { 'x-ai-sdk-version': '7' } });
  const handle = stack.temporal.workflow.getHandle(stack.turnId(chatId, requestId));

  // The local steps ran in the workflows process: the hop is scheduled and nobody takes it.
  await eventually('the model hop scheduled', async () => {
    const description = await handle.describe().catch(() => undefined);
    return description?.raw.pendingActivities?.find((activity) => activity.activityType?.name === 'streamCompletion') ? true : undefined;
  });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const waiting = (await handle.describe()).raw.pendingActivities?.find((activity) => activity.activityType?.name === 'streamCompletion');
  expect(waiting?.lastStartedTime ?? undefined).toBeUndefined();
  expect(answerRequests(stack.llm, 'Which process answers roles?')).toHaveLength(0);

  activities = await startWorker(
    { ...stack.configuration, temporal: { ...stack.configuration.temporal, workerRole: 'activities' } },
    stack.configuration.temporal.address!,
    { baseUrl: stack.llm.url, apiKey: 'scripted-test-key' },
    createLogger(stack.configuration.logLevel, 'test-activities'),
    { overrides: { identity: ACTIVITIES_IDENTITY, shutdownGraceTime: '1 second' } },
  );

  const response = await responsePromise;
  expect(response.status).toBe(200);
  const text = textOf(chunksOf(await readSse(response)));
  expect(text.length).toBeGreaterThan(0);
  expect(await storedAnswerText(stack, chatId)).toBe(text);
  expect(answerRequests(stack.llm, 'Which process answers roles?')).toHaveLength(1);

  // History: the hop started on the activities process, every workflow task on the other one.
  const history = await handle.fetchHistory();
  const hopStarts = (history.events ?? []).filter((event) => event.activityTaskStartedEventAttributes);
  expect(hopStarts.length).toBeGreaterThan(0);
  for (const event of hopStarts) expect(event.activityTaskStartedEventAttributes!.identity).toBe(ACTIVITIES_IDENTITY);
  const workflowTaskIdentities = (history.events ?? []).filter((event) => event.workflowTaskStartedEventAttributes).map((event) => event.workflowTaskStartedEventAttributes!.identity);
  expect(workflowTaskIdentities.length).toBeGreaterThan(0);
  expect(workflowTaskIdentities).not.toContain(ACTIVITIES_IDENTITY);
});
