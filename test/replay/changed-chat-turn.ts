/**
 * A plausible but incompatible change to `chatTurn`, bundled only by the negative replay test: the
 * tool step now schedules a `recordToolResults` activity before it runs the tools (as if results
 * were pre-registered). Everything before the first tool call is scheduled exactly as the real
 * workflow does (local activities for the short steps, then the LLM hop), so replaying a tool turn's
 * history diverges in the middle of the history, at the first `executeTool` event, which is what an
 * operator would meet after such a deploy.
 */
import { patched, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../../src/activities';
import { toolCallKey } from '../../src/shared/ids';
import { messageText } from '../../src/shared/messages';
import { isFastPath, isFreshStart, memorySkipReason } from '../../src/shared/turn-planning';
import type { ChatTurnInput, ChatTurnResult, TurnMessage } from '../../src/shared/turn';

const activities = proxyActivities<Activities>({ startToCloseTimeout: '2 minutes' });
const local = proxyLocalActivities<Activities>({ startToCloseTimeout: '2 minutes' });

export async function chatTurn(input: ChatTurnInput): Promise<ChatTurnResult> {
  // The change sits on top of the current version, so it takes the same patch branch.
  patched('turn-start-v1');
  const { turnId, conversationId, requestId, workspaceId } = input;
  const userText = messageText(input.userMessage.parts);
  const fastPath = isFastPath(userText);
  const widgetMode = input.widgetMode ?? false;
  const { agent, memory } = await local.beginTurn({
    turnId,
    conversationId,
    requestId,
    workspaceId,
    message: input.userMessage,
    freshStart: isFreshStart(userText),
    activation: { workspaceId, agentId: input.agentId, useSystemLlm: input.useSystemLlm },
    ...(!fastPath && memorySkipReason(userText, { widgetMode }) === undefined ? { memory: { query: userText, widgetMode } } : {}),
    guardContext: !fastPath,
  });
  const memories = memory?.memories ?? [];

  const turnMessages: TurnMessage[] = [];
  let text = '';
  for (let hop = 0; hop <= agent.maxHops; hop++) {
    const result = await activities.streamCompletion({ turnId, conversationId, workspaceId, hop, agent, model: agent.model, turnMessages, fastPath, memories: hop === 0 ? memories : [] });
    text += result.content;
    if (result.toolCalls.length === 0) break;
    turnMessages.push({ role: 'assistant', content: result.content, toolCalls: result.toolCalls.map(({ id, name, arguments: text }) => ({ id, name, arguments: text })) });
    // The change: results are registered before the tools run.
    await activities.recordToolResults({ turnId, conversationId, requestId, hop, results: [] });
    for (const call of result.toolCalls) {
      const output = await activities.executeTool({
        turnId,
        hop,
        toolCallId: call.id,
        idempotencyKey: toolCallKey(turnId, hop, call.id),
        workspaceId,
        conversationId,
        name: call.name,
        arguments: JSON.parse(call.arguments || '{}'),
        allowedTools: agent.allowedTools,
      });
      turnMessages.push({ role: 'tool', toolCallId: call.id, content: output.content });
    }
  }
  return { messageId: input.messageId, finishReason: 'stop', text, hops: 0, usage: { inputTokens: 0, outputTokens: 0 } };
}
