/**
 * The chat app in a real browser: headless Debian Chromium driven by `playwright-core`, against the
 * real stack (API, Temporal, Redis, Postgres, the scripted model) with workers as child processes so
 * one can be killed. One browser and one page for the whole file (two cores are shared), in the order
 * a user would go: sign in, watch an answer stream, use a tool, start a second conversation and see
 * its generated title, stop an answer, reload in the middle of one, lose the worker in the middle of
 * one; approve and deny a tool call, steer an answer, see a queued turn and app actions in words.
 * The approval step and the last step take the screenshots the README shows (docs/chat-app*.png).
 *
 * What the page shows is compared with what Postgres stored: the text a user sees must be the
 * persisted answer, word for word, whatever happened on the way.
 */
import path from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { conversationKey } from '../../src/shared/ids';
import { messageText, type MessagePart } from '../../src/shared/messages';
import { longAnswer } from '../../src/scripted-llm/answers';
import { CHROMIUM_PATH } from '../support/chromium';
import { startMcpTestServer, type RunningMcpTestServer } from '../support/mcp-test-server';
import { startProcessWorkerStack, type ProcessWorkerStack } from '../support/process-worker-stack';

const SCREENSHOT = path.resolve(__dirname, '../../docs/chat-app.png');
const APPROVAL_SCREENSHOT = path.resolve(__dirname, '../../docs/chat-app-approval.png');
const RESEARCH_AGENT = 'Research agent';
const LIMITED_AGENT = 'One-hop agent';
const CAREFUL_AGENT = 'Careful agent';
const APP_AGENT = 'App agent';

let stack: ProcessWorkerStack;
let browser: Browser;
let page: Page;
let mcpServer: RunningMcpTestServer | undefined;

beforeAll(async () => {
  stack = await startProcessWorkerStack({ workers: 2 });
  // An agent with tools, beside the workspace's default one: the agent picker chooses it.
  await stack.pool.query(
    `INSERT INTO agents (id, workspace_id, name, system_prompt, allowed_tools, max_hops, memory_enabled, is_default)
     VALUES ($1, $2, $3, 'You answer from the knowledge base.', $4, 4, false, false)`,
    [`${stack.workspaceId}-research`, stack.workspaceId, RESEARCH_AGENT, ['search_*']],
  );
  // One tool round at most, and memory on: its answers carry memories used and the hop-limit warning.
  await stack.pool.query(
    `INSERT INTO agents (id, workspace_id, name, system_prompt, allowed_tools, max_hops, memory_enabled, is_default)
     VALUES ($1, $2, $3, 'You answer in one tool round.', $4, 1, true, false)`,
    [`${stack.workspaceId}-limited`, stack.workspaceId, LIMITED_AGENT, ['search_*']],
  );
  const memory = await fetch(`${stack.apiUrl}/api/memories`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ content: 'Refund policy: refunds are accepted within 30 days of purchase, with the **receipt**.' }),
  });
  expect(memory.status).toBe(201);
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
}, 420_000);

afterAll(async () => {
  await browser?.close();
  await mcpServer?.close();
  await stack?.stop();
}, 60_000);

const normalize = (text: string) => text.replace(/\s+/g, ' ').trim();

function composer(): Locator {
  return page.locator('textarea[aria-label="Message"]');
}

function lastAnswer(): Locator {
  return page.locator('.message.assistant[data-message-id]').last();
}

async function send(text: string) {
  await composer().fill(text);
  await composer().press('Enter');
}

/** The answer's text as the page renders it (Markdown rendered, whitespace normalised). */
/** An image's natural width once the browser has finished with it (loaded: its width; broken: 0). */
async function loadedImageWidth(image: Locator): Promise<number> {
  return image.evaluate(
    (element: HTMLImageElement) =>
      new Promise<number>((resolve) => {
        if (element.complete) return resolve(element.naturalWidth);
        element.addEventListener('load', () => resolve(element.naturalWidth), { once: true });
        element.addEventListener('error', () => resolve(0), { once: true });
      }),
  );
}

async function visibleText(answer: Locator = lastAnswer()): Promise<string> {
  return normalize((await answer.locator('.answer-text').allInnerTexts()).join(' '));
}

/** Waits until the last answer streams and shows at least `characters` characters. */
async function waitForStreamingText(characters: number) {
  await page.waitForFunction((minimum) => {
    const answers = document.querySelectorAll('.message.assistant[data-message-id]');
    const answer = answers[answers.length - 1];
    return answer?.getAttribute('data-streaming') === 'true' && (answer.querySelector('.answer-text')?.textContent?.length ?? 0) >= minimum;
  }, characters);
}

/** Waits until the last answer is complete: not streaming, and its footer shows how it finished. */
async function waitForFinishedAnswer(timeout = 30_000) {
  await page.waitForFunction(
    () => {
      const answers = document.querySelectorAll('.message.assistant[data-message-id]');
      const answer = answers[answers.length - 1];
      return answer?.getAttribute('data-streaming') === 'false' && answer.querySelector('.answer-footer[data-finish-reason]') !== null;
    },
    undefined,
    { timeout },
  );
}

/** The internal key of a chat of the test workspace (`conversation_id` in Postgres). */
function keyOf(chatId: string): string {
  return conversationKey(stack.workspaceId, chatId);
}

function currentChatId(): string {
  const match = /\/c\/([^/?#]+)/.exec(new URL(page.url()).pathname);
  if (!match) throw new Error(`not on a chat page: ${page.url()}`);
  return decodeURIComponent(match[1]!);
}

async function storedAnswer(chatId: string): Promise<{ text: string; extra: Record<string, unknown>; turnId: string }> {
  const result = await stack.pool.query(
    "SELECT content, extra, turn_id FROM chat_events WHERE conversation_id = $1 AND type = 'message' AND role = 'assistant' ORDER BY seq DESC LIMIT 1",
    [keyOf(chatId)],
  );
  const row = result.rows[0];
  if (!row) throw new Error(`no stored answer in ${chatId}`);
  return { text: messageText((row.content.parts ?? []) as MessagePart[]), extra: row.extra, turnId: row.turn_id };
}

async function storedToolParts(chatId: string): Promise<Array<Record<string, unknown>>> {
  const result = await stack.pool.query(
    "SELECT content FROM chat_events WHERE conversation_id = $1 AND type = 'message' AND role = 'assistant' ORDER BY seq DESC LIMIT 1",
    [keyOf(chatId)],
  );
  return ((result.rows[0]?.content.parts ?? []) as Array<Record<string, unknown>>).filter((part) => part.type === 'tool-test_record_side_effect');
}

async function sideEffects(label: string): Promise<number> {
  const result = await stack.pool.query("SELECT count(*)::int AS n FROM tool_side_effects WHERE label LIKE '%' || $1 || '%'", [label]);
  return result.rows[0].n as number;
}

async function runningTurnId(chatId: string): Promise<string> {
  const result = await stack.pool.query("SELECT turn_id FROM chat_events WHERE conversation_id = $1 AND role = 'user' ORDER BY seq DESC LIMIT 1", [keyOf(chatId)]);
  return result.rows[0].turn_id as string;
}

async function newChat() {
  await page.getByRole('button', { name: '+ New chat' }).click();
  await page.waitForURL((url) => url.pathname === '/');
}

describe('the chat app in Chromium', () => {
  it('signs in with an API key, and refuses a wrong one with a readable message', async () => {
    await page.goto(`${stack.apiUrl}/`);
    await page.getByLabel('API key').fill('dc_not-a-real-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Unknown API key.' }).waitFor();

    await page.getByLabel('API key').fill(stack.apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await composer().waitFor();
    await page.locator('select[aria-label="Agent"] option', { hasText: RESEARCH_AGENT }).waitFor({ state: 'attached' });
    const agentNames = await page.locator('select[aria-label="Agent"] option').allInnerTexts();
    expect(agentNames.map((name) => name.split(' · ')[0])).toEqual(['Assistant', LIMITED_AGENT, RESEARCH_AGENT]);
    expect(await page.evaluate(() => sessionStorage.getItem('durable-chat.apiKey'))).toBe(stack.apiKey);
  });

  it('streams an answer as rendered Markdown, then shows its usage and cost', async () => {
    await send('Tell me something long [[tps=30]]');
    await waitForStreamingText(40);
    const partial = await visibleText();
    await waitForFinishedAnswer();
    const final = await visibleText();

    // Seen while streaming: a strict beginning of the final answer.
    expect(partial.length).toBeLessThan(final.length);
    expect(final.startsWith(partial.slice(0, -12))).toBe(true);
    const chatId = currentChatId();
    const stored = await storedAnswer(chatId);
    expect(final).toBe(normalize(stored.text));
    expect(stored.text).toBe(longAnswer);
    // Three paragraphs of Markdown, three <p> elements.
    expect(await lastAnswer().locator('.answer-text p').count()).toBe(3);
    const footer = normalize(await lastAnswer().locator('.answer-footer').innerText());
    const usage = stored.extra.usage as { inputTokens: number; outputTokens: number };
    expect(footer).toContain(`${usage.inputTokens} in · ${usage.outputTokens} out tokens`);
    const cost = await stack.pool.query('SELECT sum(cost_usd) AS cost FROM llm_usage WHERE turn_id = $1', [stored.turnId]);
    expect(Number(cost.rows[0].cost)).toBeGreaterThan(0);
    await page.locator('.answer-footer', { hasText: '$' }).last().waitFor();
    expect(normalize(await lastAnswer().locator('.answer-footer').innerText())).toMatch(/\$0\.0\d+/);
  });

  it('shows a tool call with its input and output, with the agent chosen in the picker', async () => {
    await newChat();
    await page.selectOption('select[aria-label="Agent"]', { label: `${RESEARCH_AGENT}` });
    await send('use search_knowledge for our refund policy');
    const tool = page.locator('.tool-call[data-tool-name="search_knowledge"]');
    await tool.and(page.locator('[data-state="output-available"]')).waitFor();
    await waitForFinishedAnswer();
    expect(await tool.locator('.tool-input').innerText()).toContain('our refund policy');
    expect(await tool.locator('.tool-output').innerText()).toContain('accepted within 30 days of purchase');
    const chatId = currentChatId();
    // The answer quotes the search hit, Markdown included (**receipt**): the page renders it.
    expect((await storedAnswer(chatId)).text).toContain('with the **receipt**.');
    expect(await visibleText()).toContain('accepted within 30 days of purchase, with the receipt.');
    expect(await lastAnswer().locator('.answer-text [data-streamdown="strong"]').allInnerTexts()).toContain('receipt');

    // Read back from the conversation API after a reload: the same tool call, output included.
    await page.reload();
    await tool.and(page.locator('[data-state="output-available"]')).waitFor();
    expect(await tool.locator('.tool-output').innerText()).toContain('accepted within 30 days of purchase');
  });

  it('shows the memories an answer used and the warning at the hop limit', async () => {
    await newChat();
    await page.selectOption('select[aria-label="Agent"]', { label: LIMITED_AGENT });
    await send('use search_knowledge for the refund policy of purchases [[hops=2]]');
    await waitForFinishedAnswer();
    const answer = lastAnswer();
    expect(await answer.locator('.memories summary').innerText()).toMatch(/^\d+ (memory|memories) used$/);
    await answer.locator('.memories summary').click();
    expect(await answer.locator('.memories li').allInnerTexts()).toContainEqual(expect.stringContaining('refunds are accepted within 30 days'));
    const warning = normalize(await answer.locator('.warning').innerText());
    expect(warning).toBe('I stopped after 1 tool rounds, the limit for this agent. Ask me to continue if you need more.');
    expect(await answer.locator('[data-finish-reason="tool-limit-reached"] .badge-tool-limit-reached').innerText()).toBe('tool limit');
    // Shown once: as the warning, not a second time in the answer's text.
    expect(await visibleText()).not.toContain(warning);
    expect(normalize((await storedAnswer(currentChatId())).text)).toContain(warning);
  });

  it('sends an attachment and shows it in the question, also after a reload', async () => {
    await newChat();
    await page.selectOption('select[aria-label="Agent"]', { label: 'Assistant' });
    // A 1×1 PNG, made here: the smallest image a browser renders.
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
    await page.locator('input[type="file"]').setInputFiles({ name: 'dot.png', mimeType: 'image/png', buffer: png });
    await page.locator('.attachment-chips', { hasText: 'dot.png' }).waitFor();
    await send('What is in this picture?');
    await waitForFinishedAnswer();
    expect(await loadedImageWidth(page.locator('.message.user img[alt="dot.png"]'))).toBe(1);
    const stored = await stack.pool.query("SELECT content FROM chat_events WHERE conversation_id = $1 AND role = 'user'", [keyOf(currentChatId())]);
    expect(stored.rows[0].content.parts).toContainEqual(expect.objectContaining({ type: 'file', mediaType: 'image/png', filename: 'dot.png' }));
    await page.reload();
    await waitForFinishedAnswer();
    // After the reload the stored image loads from the API: its width once the browser is done with it.
    expect(await loadedImageWidth(page.locator('.message.user img[alt="dot.png"]'))).toBe(1);
  });

  it('lists a second conversation with the title the model generated for it', async () => {
    const firstChats = await page.locator('.conversation-item').count();
    await newChat();
    await page.selectOption('select[aria-label="Agent"]', { label: 'Assistant' });
    await send('Plan a weekend trip to Lisbon with my family');
    await waitForFinishedAnswer();
    const chatId = currentChatId();
    const item = page.locator(`.conversation-item[data-chat-id="${chatId}"][data-title-source="generated"]`);
    await item.waitFor({ timeout: 20_000 });
    const stored = await stack.pool.query('SELECT title, title_source FROM conversations WHERE id = $1', [keyOf(chatId)]);
    expect(stored.rows[0]).toEqual({ title: 'Plan a weekend trip to Lisbon', title_source: 'generated' });
    expect(await item.locator('.conversation-title').innerText()).toBe('Plan a weekend trip to Lisbon');
    expect(await page.locator('.chat-title').innerText()).toBe('Plan a weekend trip to Lisbon');
    expect(await page.locator('.conversation-item').count()).toBe(firstChats + 1);
    // Newest activity first.
    expect(await page.locator('.conversation-item').first().getAttribute('data-chat-id')).toBe(chatId);
  });

  it('stops an answer for real, and keeps the partial answer after a reload', async () => {
    await newChat();
    await send('Another long one, to be stopped [[tps=10]]');
    await waitForStreamingText(30);
    const chatId = currentChatId();
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await waitForFinishedAnswer();
    const shown = await visibleText();
    expect(await lastAnswer().locator('.badge-cancelled').innerText()).toBe('stopped');

    const stored = await storedAnswer(chatId);
    expect(stored.extra.finishReason).toBe('cancelled');
    expect(shown).toBe(normalize(stored.text));
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.length).toBeLessThan(normalize(longAnswer).length);
    // The model's HTTP stream was aborted: generation stopped, not just the page's connection.
    const request = stack.llm.requests.find((candidate) => candidate.lastUserText === 'Another long one, to be stopped');
    expect(request?.outcome).toBe('aborted');

    await page.reload();
    await waitForFinishedAnswer();
    expect(await visibleText()).toBe(shown);
    expect(await lastAnswer().locator('.badge-cancelled').innerText()).toBe('stopped');
  });

  it('resumes a running answer after a reload, and ends with the stored answer', async () => {
    await newChat();
    await send('A long answer to reload in the middle of [[tps=15]]');
    await waitForStreamingText(30);
    const chatId = currentChatId();
    const beforeReload = await visibleText();
    await page.reload();
    // The reloaded page follows the same turn live (resume), not a finished copy.
    await waitForStreamingText(beforeReload.length);
    await waitForFinishedAnswer();
    const final = await visibleText();
    expect(final.startsWith(beforeReload.slice(0, -12))).toBe(true);
    expect(final).toBe(normalize((await storedAnswer(chatId)).text));
    expect(final).toBe(normalize(longAnswer));
    // One model request: the reload did not start the turn again.
    expect(stack.llm.requests.filter((request) => request.lastUserText === 'A long answer to reload in the middle of')).toHaveLength(1);
  });

  it('survives kill -9 of the worker mid-answer: the final text is the stored answer, no word twice', async () => {
    await newChat();
    await send('A long answer while the worker dies [[tps=12 vary=1]]');
    await waitForStreamingText(60);
    const chatId = currentChatId();
    const killed = await stack.killWorkerRunning(await runningTurnId(chatId));
    expect(killed).toBeDefined();
    const replacement = stack.spawnWorker();
    await waitForFinishedAnswer(90_000);
    await replacement;

    const final = await visibleText();
    const stored = await storedAnswer(chatId);
    expect(final).toBe(normalize(stored.text));
    // The killed attempt's text is gone (reset-step): only the retried attempt remains, once.
    expect(stored.text.startsWith('(attempt 2) ')).toBe(true);
    expect(final).not.toContain('(attempt 1)');
    expect(final.split('Durable execution means').length - 1).toBe(1);
    expect(final).toBe(normalize(`(attempt 2) ${longAnswer}`));
  }, 120_000);

  it('asks for approval: Approve runs the tool once, a reload shows the pending request again, Deny is read by the model', async () => {
    // An agent whose tool waits for the user, made through the management API as a user would.
    const created = await fetch(`${stack.apiUrl}/api/agents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: CAREFUL_AGENT, systemPrompt: 'You ask before writing.', allowedTools: ['test_*'], memoryEnabled: false, maxHops: 4, toolApproval: { tools: ['test_record_side_effect'], timeoutSeconds: 300 } }),
    });
    expect(created.status).toBe(201);
    await newChat();
    await page.reload(); // the picker reads the agents when the app starts
    await page.locator('select[aria-label="Agent"] option', { hasText: CAREFUL_AGENT }).waitFor({ state: 'attached' });
    await page.selectOption('select[aria-label="Agent"]', { label: CAREFUL_AGENT });

    const approvedLabel = `approved-${Date.now()}`;
    await send(`use test_record_side_effect for ${approvedLabel}`);
    const tool = page.locator('.tool-call[data-tool-name="test_record_side_effect"]');
    await tool.and(page.locator('[data-state="approval-requested"]')).waitFor();
    expect(await tool.locator('.tool-input').innerText()).toContain(approvedLabel);
    expect(await tool.getByRole('button', { name: 'Approve' }).isVisible()).toBe(true);
    expect(await tool.getByRole('button', { name: 'Deny' }).isVisible()).toBe(true);
    const chatId = currentChatId();
    expect(await sideEffects(approvedLabel)).toBe(0);

    // The turn waits in its workflow, not in the page: a reload shows the same request again.
    await page.reload();
    await tool.and(page.locator('[data-state="approval-requested"]')).waitFor();
    expect(await tool.locator('.tool-input').innerText()).toContain(approvedLabel);
    await page.mouse.move(900, 700);
    await page.screenshot({ path: APPROVAL_SCREENSHOT });
    await tool.getByRole('button', { name: 'Approve' }).click();
    await tool.and(page.locator('[data-state="output-available"]')).waitFor({ timeout: 30_000 });
    await waitForFinishedAnswer();
    expect(await tool.locator('.approval').innerText()).toBe('You approved this call.');
    expect(await tool.locator('.tool-output').innerText()).toContain(`"label": "for ${approvedLabel}"`);
    expect(await visibleText()).toMatch(new RegExp(`^Tool results: .*${approvedLabel}`));
    // Run once, and stored once: one tool result, one tool part with the approval in the answer.
    expect(await sideEffects(approvedLabel)).toBe(1);
    const results = await stack.pool.query("SELECT count(*)::int AS n FROM chat_events WHERE conversation_id = $1 AND type = 'tool-result'", [keyOf(chatId)]);
    expect(results.rows[0].n).toBe(1);
    const storedParts = await storedToolParts(chatId);
    expect(storedParts).toHaveLength(1);
    expect(storedParts[0]).toMatchObject({ state: 'output-available', approval: { approved: true } });
    expect(await page.locator('.message.assistant[data-message-id]').count()).toBe(1);

    // A second conversation: Deny. The tool does not run and the model answers from the denial.
    await newChat();
    await page.selectOption('select[aria-label="Agent"]', { label: CAREFUL_AGENT });
    const deniedLabel = `denied-${Date.now()}`;
    await send(`use test_record_side_effect for ${deniedLabel}`);
    await tool.and(page.locator('[data-state="approval-requested"]')).waitFor();
    await tool.getByLabel('Reason for denying').fill('not on production');
    await tool.getByRole('button', { name: 'Deny' }).click();
    await tool.and(page.locator('[data-state="output-denied"]')).waitFor({ timeout: 30_000 });
    await waitForFinishedAnswer();
    expect(await tool.locator('.approval').innerText()).toBe('You denied this call: not on production');
    expect(await tool.locator('.badge').innerText()).toBe('denied');
    expect(await visibleText()).toContain('the user denied this tool call (reason: not on production)');
    expect(await sideEffects(deniedLabel)).toBe(0);
    const deniedChat = currentChatId();
    expect((await storedAnswer(deniedChat)).text).toContain('the user denied this tool call');
    expect((await storedToolParts(deniedChat))[0]).toMatchObject({ state: 'output-denied', approval: { approved: false, reason: 'not on production' } });
    // Read back after a reload: still denied, no buttons.
    await page.reload();
    await tool.and(page.locator('[data-state="output-denied"]')).waitFor();
    expect(await tool.getByRole('button', { name: 'Approve' }).count()).toBe(0);
  }, 120_000);

  it('while a tool call waits for approval, the composer steers the turn and Stop cancels it', async () => {
    await newChat();
    await page.selectOption('select[aria-label="Agent"]', { label: CAREFUL_AGENT });
    const label = `stopped-${Date.now()}`;
    await send(`use test_record_side_effect for ${label}`);
    const tool = page.locator('.tool-call[data-tool-name="test_record_side_effect"]');
    await tool.and(page.locator('[data-state="approval-requested"]')).waitFor();
    // A new message would queue behind the approval: the turn runs, so the composer offers to steer it.
    expect(await composer().getAttribute('placeholder')).toBe('Add a correction to the running answer…');
    const chatId = currentChatId();
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await page.locator('.message.assistant .badge-cancelled').waitFor({ timeout: 30_000 });
    expect(await tool.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    expect((await storedAnswer(chatId)).extra.finishReason).toBe('cancelled');
    expect(await sideEffects(label)).toBe(0);
    expect(await composer().getAttribute('placeholder')).toBe('Send a message');

    // Steered while it waits, then approved: the tool runs, and the model reads the correction after its result.
    await newChat();
    await page.selectOption('select[aria-label="Agent"]', { label: CAREFUL_AGENT });
    const steeredLabel = `corrected-${Date.now()}`;
    await send(`use test_record_side_effect for ${steeredLabel}`);
    await tool.and(page.locator('[data-state="approval-requested"]')).waitFor();
    await composer().fill('Then say it is done');
    await composer().press('Enter');
    await page.waitForFunction(() => (document.querySelector('textarea[aria-label="Message"]') as HTMLTextAreaElement).value === '');
    await tool.getByRole('button', { name: 'Approve' }).click();
    await waitForFinishedAnswer(30_000);
    expect(await sideEffects(steeredLabel)).toBe(1);
    expect(normalize(await lastAnswer().locator('.steering').innerText())).toBe('↳ You added: Then say it is done');
    expect(await visibleText()).toContain('You said: Then say it is done');
    expect(await page.locator('.message.user').count()).toBe(1);
  }, 90_000);

  it('steers a streaming answer from the composer: the correction shows in the answer, in order, and the answer goes on', async () => {
    await newChat();
    await page.selectOption('select[aria-label="Agent"]', { label: 'Assistant' });
    await send('Tell me something long, I will correct you [[tps=15]]');
    await waitForStreamingText(30);
    const chatId = currentChatId();
    expect(await composer().getAttribute('placeholder')).toBe('Add a correction to the running answer…');
    await composer().fill('Also mention bananas');
    await page.getByRole('button', { name: 'Steer', exact: true }).click();
    await page.waitForFunction(() => (document.querySelector('textarea[aria-label="Message"]') as HTMLTextAreaElement).value === '');
    await waitForFinishedAnswer(60_000);

    const answer = lastAnswer();
    expect(normalize(await answer.locator('.steering').innerText())).toBe('↳ You added: Also mention bananas');
    // In order: the long answer, the correction where the model read it, then the answer to it.
    const order = await answer.evaluate((element) =>
      Array.from(element.children)
        .filter((child) => child.matches('.answer-text, .steering'))
        .map((child) => (child.classList.contains('steering') ? 'steering' : (child.textContent ?? '').slice(0, 40))),
    );
    expect(order).toEqual([longAnswer.slice(0, 40), 'steering', 'You said: Also mention bananas']);
    // Shown once: not a second time as a question of its own.
    expect(await page.locator('.message.user', { hasText: 'Also mention bananas' }).count()).toBe(0);

    const rows = await stack.pool.query("SELECT role, extra FROM chat_events WHERE conversation_id = $1 AND type = 'message' ORDER BY seq", [keyOf(chatId)]);
    expect(rows.rows.map((row) => row.role)).toEqual(['user', 'user', 'assistant']);
    expect(rows.rows[1].extra.steering).toBe(true);
    expect(normalize((await storedAnswer(chatId)).text)).toBe(normalize(`${longAnswer}You said: Also mention bananas`));

    // After a reload, from the stored conversation: the same, once.
    await page.reload();
    await waitForFinishedAnswer();
    expect(normalize(await lastAnswer().locator('.steering').innerText())).toBe('↳ You added: Also mention bananas');
    expect(await page.locator('.message.user', { hasText: 'Also mention bananas' }).count()).toBe(0);
    expect(await page.locator('.message.user').count()).toBe(1);
  }, 90_000);

  it('says in words that an answer is queued behind the running one (data-turn-queued), then answers', async () => {
    await newChat();
    await send('A long answer with another message behind it [[tps=12]]');
    await waitForStreamingText(30);
    const chatId = currentChatId();
    // Another client (a second tab, a script) sends the next message while this answer streams.
    const queued = await fetch(`${stack.apiUrl}/api/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json', 'x-ai-sdk-version': '7' },
      body: JSON.stringify({ id: chatId, trigger: 'submit-message', messages: [{ id: `msg-queued-${Date.now()}`, role: 'user', parts: [{ type: 'text', text: 'And then a short one' }] }] }),
    });
    expect(queued.status).toBe(200);
    await queued.body?.cancel();
    // The reloaded page follows the chat's latest turn: the queued one. Right after the POST its
    // stream may not exist yet (a worker publishes its first event): the page then tries again.
    await page.reload();
    const notice = page.locator('[data-notice="turn-queued"]');
    await notice.waitFor();
    expect(await notice.innerText()).toBe('Queued behind the running answer: this one starts when it is done.');
    expect(await page.locator('.data-part').count()).toBe(0);
    await waitForFinishedAnswer(60_000);
    expect(await visibleText()).toContain('You said: And then a short one');
    expect(normalize((await storedAnswer(chatId)).text)).toBe('You said: And then a short one');
    // This page followed only the queued turn: once it is answered, the stored conversation fills in
    // the answer it waited for and the other tab's question, in order.
    await page.locator('.message.user').nth(1).waitFor();
    expect(await page.locator('.message.user').allInnerTexts()).toEqual(['A long answer with another message behind it [[tps=12]]', 'And then a short one']);
    const answers = page.locator('.message.assistant[data-message-id]');
    expect(await answers.count()).toBe(2);
    expect(await visibleText(answers.first())).toBe(normalize(longAnswer));
  }, 90_000);

  it('says which app actions (MCP) a turn offered, in words (data-app-actions), and shows the action run', async () => {
    mcpServer = await startMcpTestServer();
    const registered = await fetch(`${stack.apiUrl}/api/mcp-servers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'testkit', transport: 'http', url: mcpServer.url }),
    });
    expect(registered.status).toBe(201);
    const created = await fetch(`${stack.apiUrl}/api/agents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: APP_AGENT, systemPrompt: 'You use the test kit.', allowedTools: ['APP_TESTKIT_*'], memoryEnabled: false, maxHops: 3 }),
    });
    expect(created.status).toBe(201);
    await newChat();
    await page.reload();
    await page.locator('select[aria-label="Agent"] option', { hasText: APP_AGENT }).waitFor({ state: 'attached' });
    await page.selectOption('select[aria-label="Agent"]', { label: APP_AGENT });
    await send('use APP_TESTKIT_ECHO for hello from the page');
    await waitForFinishedAnswer();
    const notice = lastAnswer().locator('[data-notice="app-actions"]');
    expect(normalize(await notice.innerText())).toMatch(/^Using app actions: (.*, )?APP_TESTKIT_ECHO(,|$)/);
    expect(await lastAnswer().locator('.data-part').count()).toBe(0);
    const tool = page.locator('.tool-call[data-tool-name="APP_TESTKIT_ECHO"][data-state="output-available"]');
    expect(await tool.locator('.tool-output').innerText()).toMatch(/echo over http: .*hello from the page/);
    expect(mcpServer.counters.calls.echo).toBe(1);
  }, 60_000);

  it('renames and deletes a conversation from the list', async () => {
    const item = page.locator('.conversation-item', { hasText: 'What is in this picture' });
    const chatId = (await item.getAttribute('data-chat-id'))!;
    await item.hover();
    await item.getByRole('button', { name: /^Rename/ }).click();
    await page.getByLabel('New title').fill('The dot picture');
    await page.getByLabel('New title').press('Enter');
    await page.locator(`.conversation-item[data-chat-id="${chatId}"][data-title-source="user"]`, { hasText: 'The dot picture' }).waitFor();
    expect((await stack.pool.query('SELECT title, title_source FROM conversations WHERE id = $1', [keyOf(chatId)])).rows[0]).toEqual({ title: 'The dot picture', title_source: 'user' });

    page.once('dialog', (dialog) => void dialog.accept());
    await page.locator(`.conversation-item[data-chat-id="${chatId}"]`).hover();
    await page.locator(`.conversation-item[data-chat-id="${chatId}"]`).getByRole('button', { name: /^Delete/ }).click();
    await page.locator(`.conversation-item[data-chat-id="${chatId}"]`).waitFor({ state: 'detached' });
    expect((await stack.pool.query('SELECT count(*)::int AS n FROM chat_events WHERE conversation_id = $1', [keyOf(chatId)])).rows[0].n).toBe(0);
  });

  it('takes the screenshot the README shows', async () => {
    const toolChat = page.locator('.conversation-item', { hasText: 'Use search_knowledge for our refund' });
    await toolChat.locator('.conversation-link').click();
    await page.locator('.tool-call[data-state="output-available"]').waitFor();
    await waitForFinishedAnswer();
    // Opening a conversation picks the agent that answered it.
    expect(await page.locator('select[aria-label="Agent"]').inputValue()).toBe(`${stack.workspaceId}-research`);
    await page.mouse.move(900, 700);
    await page.screenshot({ path: SCREENSHOT });
  });
});
