/**
 * The order of the reads in `beginTurn`, the path to the first token: memory (its longest read)
 * starts once the agent's record says the agent has memory, while the rest of the activation and
 * the message are still on their way (after a "start over" reset is recorded); an agent without
 * memory never searches it.
 */
import { createBeginTurnActivities, type BeginTurnInput, type BeginTurnSteps } from '../../src/activities/begin-turn';
import type { AgentRecord } from '../../src/agents/agent-repository';
import type { AgentConfiguration } from '../../src/shared/turn';

function stepsFor(memoryEnabled: boolean) {
  const events: string[] = [];
  const steps: BeginTurnSteps = {
    async recordContextReset() {
      await new Promise((resolve) => setImmediate(resolve));
      events.push('context reset recorded');
    },
    async persistUserMessage() {
      events.push('message stored');
      return { seq: 1, created: true };
    },
    async activateAgent(_input, observer) {
      observer?.found({ id: 'agent-1', memoryEnabled } as AgentRecord);
      // The rest of the activation (skills, connection, budget, tools) is still being read.
      await new Promise((resolve) => setImmediate(resolve));
      events.push('agent activated');
      return { agentId: 'agent-1', memoryEnabled } as AgentConfiguration;
    },
    async retrieveMemory(input) {
      events.push(`memory searched for "${input.query}"`);
      return { memories: [{ id: 'm1', tier: 'session', text: 'The user likes tea' }], skippedTiers: [], mode: 'hybrid' };
    },
    async guardContext() {
      events.push('context guarded');
      return { tokens: 10, condensed: false };
    },
  };
  return { steps, events };
}

const input: BeginTurnInput = {
  turnId: 'turn-1',
  conversationId: 'conversation-1',
  requestId: 'request-1',
  workspaceId: 'ws-1',
  userId: 'user-1',
  message: { id: 'msg-1', role: 'user', parts: [{ type: 'text', text: 'What do I like to drink?' }] } as BeginTurnInput['message'],
  freshStart: false,
  activation: { workspaceId: 'ws-1', agentId: 'agent-1', userText: 'What do I like to drink?' } as BeginTurnInput['activation'],
  memory: { query: 'What do I like to drink?', widgetMode: false },
  guardContext: true,
};

it('memory is searched while the agent is still being activated, and its memories reach the turn', async () => {
  const { steps, events } = stepsFor(true);
  const begun = await createBeginTurnActivities(steps).beginTurn(input);
  expect(events.indexOf('memory searched for "What do I like to drink?"')).toBeLessThan(events.indexOf('agent activated'));
  expect(begun.memory?.memories.map((memory) => memory.text)).toEqual(['The user likes tea']);
  expect(begun.context).toEqual({ tokens: 10, condensed: false });
});

it('an agent without memory never searches it', async () => {
  const { steps, events } = stepsFor(false);
  const begun = await createBeginTurnActivities(steps).beginTurn(input);
  expect(events).not.toContainEqual(expect.stringMatching(/^memory searched/));
  expect(begun.memory).toBeUndefined();
  expect(events).toEqual(expect.arrayContaining(['message stored', 'agent activated', 'context guarded']));
});

it('a message that memory skips is not searched, even for an agent with memory', async () => {
  const { steps, events } = stepsFor(true);
  const { memory: _skipped, ...withoutMemory } = input;
  const begun = await createBeginTurnActivities(steps).beginTurn(withoutMemory);
  expect(events).not.toContainEqual(expect.stringMatching(/^memory searched/));
  expect(begun.memory).toBeUndefined();
});

it('after "start over", memory is searched once the context reset is recorded, so it no longer finds what the conversation established before', async () => {
  const { steps, events } = stepsFor(true);
  await createBeginTurnActivities(steps).beginTurn({ ...input, freshStart: true });
  expect(events.indexOf('context reset recorded')).toBeGreaterThanOrEqual(0);
  expect(events.indexOf('context reset recorded')).toBeLessThan(events.indexOf('memory searched for "What do I like to drink?"'));
  expect(events.indexOf('context reset recorded')).toBeLessThan(events.indexOf('message stored'));
});

it('a failed reset fails the first step, and the memory search started early leaves no unhandled failure', async () => {
  const { steps } = stepsFor(true);
  const failing: BeginTurnSteps = {
    ...steps,
    async recordContextReset() {
      throw new Error('database unavailable');
    },
  };
  await expect(createBeginTurnActivities(failing).beginTurn({ ...input, freshStart: true })).rejects.toThrow('database unavailable');
});

it('reports where its time went: the parts that ran, each from the step start, within the total', async () => {
  const { steps } = stepsFor(true);
  const slowMemory: BeginTurnSteps = {
    ...steps,
    async retrieveMemory(query) {
      await new Promise((resolve) => setTimeout(resolve, 40));
      return steps.retrieveMemory(query);
    },
  };
  const before = Date.now();
  const { timings } = await createBeginTurnActivities(slowMemory).beginTurn(input);
  expect(timings!.startedAt).toBeGreaterThanOrEqual(before);
  expect(timings!.memoryMs).toBeGreaterThanOrEqual(35);
  expect(timings!.memoryMs).toBeGreaterThan(timings!.agentMs);
  expect(timings!.totalMs).toBeGreaterThanOrEqual(timings!.memoryMs!);
  expect(timings!.contextMs).toBeDefined();

  const { memory: _skipped, ...withoutMemory } = input;
  const plain = await createBeginTurnActivities(steps).beginTurn({ ...withoutMemory, guardContext: false });
  expect(plain.timings).toEqual({ startedAt: expect.any(Number), messageMs: expect.any(Number), agentMs: expect.any(Number), totalMs: expect.any(Number) });
});
