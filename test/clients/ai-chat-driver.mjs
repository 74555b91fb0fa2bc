// Drives the API with the `ai` package's own chat engine (AbstractChat + DefaultChatTransport: what
// `useChat` runs), in a child process because `ai` is ESM-only and jest runs CommonJS.
//
// Input: one JSON scenario on stdin:
//   { apiUrl, apiKey, chatId, aiModule?: 'ai', headers?: {}, steps: [
//       { action: 'send', text } | { action: 'resume' } | { action: 'stop-after-text', text, minChars } ] }
// Output: one JSON line: { status, error, messages, chunkErrors, finishReasons }.
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
const chat = new NodeChat({
  id: scenario.chatId,
  transport: new ai.DefaultChatTransport({
    api: `${scenario.apiUrl}/api/chat`,
    headers: { authorization: `Bearer ${scenario.apiKey}`, ...(scenario.headers ?? {}) },
  }),
  onFinish: (event) => finishEvents.push({ isError: event.isError, isAbort: event.isAbort, isDisconnect: event.isDisconnect, finishReason: event.finishReason ?? null }),
});

for (const step of scenario.steps) {
  if (step.action === 'send') await chat.sendMessage({ text: step.text });
  else if (step.action === 'resume') await chat.resumeStream();
}

const state = chat.nodeState;
process.stdout.write(JSON.stringify({
  status: state.status,
  error: state.error ? String(state.error.message ?? state.error) : null,
  messages: state.messages,
  finishEvents,
}) + '\n');
