// Drives the API with the `ai` package's own chat engine (AbstractChat + DefaultChatTransport: what
// `useChat` runs), in a child process because `ai` is ESM-only and jest runs CommonJS.
//
// Input: one JSON scenario on stdin:
//   { apiUrl, apiKey, chatId, aiModule?: 'ai', headers?: {}, body?: {}, steps: [
//       { action: 'send', text } | { action: 'resume' } | { action: 'regenerate' }
//     | { action: 'send-then-stop', text, minChars }  (POST /api/chat/:id/stop once the assistant shows minChars)
//     | { action: 'answer-approval', approved, reason? }  (addToolApprovalResponse on the pending request; with
//       `autoSendApprovals` the chat sends it by itself, as `sendAutomaticallyWhen` does in useChat)
//     | { action: 'rest-approval', approved, reason? }  (POST /api/chat/:id/approvals/:approvalId, then resume)
//     | { action: 'steer', text, afterChars }  (POST /api/chat/:id/steer once the assistant shows afterChars, while sending `send` text) ],
//     autoSendApprovals?: boolean }
// Output: one JSON line: { status, error, messages, finishEvents, stopAnswers }; a stop answer records
// the text the client showed when the stop endpoint answered.
import process from 'node:process';

const scenario = JSON.parse(await new Promise((resolve) => {
  let input = '';
  process.stdin.on('data', (chunk) => (input += chunk));
  process.stdin.on('end', () => resolve(input));
}));

const ai = await import(scenario.aiModule ?? 'ai');

class NodeChatState {
  constructor() {
    this.status = 'ready';
    this.error = undefined;
    this.messages = [];
  }
  pushMessage = (message) => { this.messages = this.messages.concat(message); };
  popMessage = () => { this.messages = this.messages.slice(0, -1); };
  replaceMessage = (index, message) => {
    this.messages = [...this.messages.slice(0, index), this.snapshot(message), ...this.messages.slice(index + 1)];
  };
  snapshot = (value) => structuredClone(value);
}

class NodeChat extends ai.AbstractChat {
  constructor(init) {
    const state = new NodeChatState();
    super({ ...init, state });
    this.nodeState = state;
  }
}

const finishEvents = [];
const stopAnswers = [];
const approvalAnswers = [];
const steerAnswers = [];

const pendingApproval = () => {
  for (const message of [...chat.nodeState.messages].reverse()) {
    for (const part of message.parts ?? []) if (part.state === 'approval-requested') return part.approval.id;
  }
  return undefined;
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** Until the chat is idle again with no approval answer left unsent (the automatic request ran). */
async function settled() {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const last = chat.nodeState.messages.at(-1);
    const unsent = (last?.parts ?? []).some((part) => part.state === 'approval-responded');
    if ((chat.status === 'ready' || chat.status === 'error') && !unsent) return;
    await sleep(50);
  }
  throw new Error(`chat did not settle: ${chat.status}`);
}
const chat = new NodeChat({
  id: scenario.chatId,
  transport: new ai.DefaultChatTransport({
    api: `${scenario.apiUrl}/api/chat`,
    headers: { authorization: `Bearer ${scenario.apiKey}`, ...(scenario.headers ?? {}) },
    ...(scenario.body ? { body: scenario.body } : {}),
  }),
  ...(scenario.autoSendApprovals ? { sendAutomaticallyWhen: ai.lastAssistantMessageIsCompleteWithApprovalResponses } : {}),
  onFinish: (event) => finishEvents.push({ isError: event.isError, isAbort: event.isAbort, isDisconnect: event.isDisconnect, finishReason: event.finishReason ?? null }),
});

for (const step of scenario.steps) {
  if (step.action === 'send') await chat.sendMessage({ text: step.text });
  else if (step.action === 'resume') await chat.resumeStream();
  else if (step.action === 'regenerate') await chat.regenerate();
  else if (step.action === 'send-then-stop') {
    const sending = chat.sendMessage({ text: step.text });
    const shown = () => (chat.nodeState.messages.at(-1)?.parts ?? []).filter((part) => part.type === 'text').map((part) => part.text).join('').length;
    while (chat.nodeState.messages.at(-1)?.role !== 'assistant' || shown() < step.minChars) await new Promise((resolve) => setTimeout(resolve, 20));
    const stop = await fetch(`${scenario.apiUrl}/api/chat/${encodeURIComponent(scenario.chatId)}/stop`, {
      method: 'POST',
      headers: { authorization: `Bearer ${scenario.apiKey}` },
    });
    stopAnswers.push({ status: stop.status, body: await stop.json(), shownWhenStopped: shown() });
    await sending;
  } else if (step.action === 'answer-approval') {
    const id = pendingApproval();
    if (!id) throw new Error('no pending approval to answer');
    approvalAnswers.push({ approvalId: id, via: 'addToolApprovalResponse' });
    await chat.addToolApprovalResponse({ id, approved: step.approved, ...(step.reason ? { reason: step.reason } : {}) });
    await sleep(50);
    await settled();
  } else if (step.action === 'rest-approval') {
    const id = pendingApproval();
    if (!id) throw new Error('no pending approval to answer');
    const answer = await fetch(`${scenario.apiUrl}/api/chat/${encodeURIComponent(scenario.chatId)}/approvals/${encodeURIComponent(id)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${scenario.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ approved: step.approved, ...(step.reason ? { reason: step.reason } : {}) }),
    });
    approvalAnswers.push({ approvalId: id, via: 'rest', status: answer.status, body: await answer.json() });
    await chat.resumeStream();
  } else if (step.action === 'steer') {
    const sending = chat.sendMessage({ text: step.send });
    const shown = () => (chat.nodeState.messages.at(-1)?.parts ?? []).filter((part) => part.type === 'text').map((part) => part.text).join('').length;
    while (chat.nodeState.messages.at(-1)?.role !== 'assistant' || shown() < step.afterChars) await sleep(20);
    const answer = await fetch(`${scenario.apiUrl}/api/chat/${encodeURIComponent(scenario.chatId)}/steer`, {
      method: 'POST',
      headers: { authorization: `Bearer ${scenario.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: step.text }),
    });
    steerAnswers.push({ status: answer.status, body: await answer.json(), shownWhenSteered: shown() });
    await sending;
  }
}

const state = chat.nodeState;
process.stdout.write(JSON.stringify({
  status: state.status,
  error: state.error ? String(state.error.message ?? state.error) : null,
  messages: state.messages,
  finishEvents,
  stopAnswers,
  approvalAnswers,
  steerAnswers,
}) + '\n');
