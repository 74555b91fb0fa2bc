/**
 * The body `DefaultChatTransport` sends to `POST /api/chat`, parsed with a schema at the boundary:
 * `{ id, messages, trigger, messageId?, ...extra fields }`. Only the last message, which must be the
 * user's, starts a turn. Everything stored later is checked here, so an accepted request can always
 * be stored: text that `jsonb` rejects (NUL, unpaired surrogates) or absurd nesting answers 400.
 */
import { z } from 'zod';
import { CLIENT_ID_PATTERN } from '../shared/ids';
import { messageText, type StoredMessage } from '../shared/messages';
import { MAX_MESSAGE_TEXT_CHARACTERS } from '../shared/policy';
import { MAX_STEERING_TEXT_CHARACTERS } from '../shared/turn-control';
import { findJsonProblem } from './json-safety';

const identifier = z.string().regex(CLIENT_ID_PATTERN, 'must be 1–200 letters, digits or _ . : -');

/** Ids of earlier messages the client echoes back (assistant ids are ours and contain `~`). */
const echoedId = z.string().min(1).max(500);

const partSchema = z.looseObject({ type: z.string().min(1).max(100) });

/** ai ≥ 5 sends `parts`; ai 4 sends `content` (and, from 4.2, `parts` too). */
const messageSchema = z
  .looseObject({
    id: echoedId,
    role: z.enum(['user', 'assistant', 'system', 'data']),
    parts: z.array(partSchema).max(200).optional(),
    content: z.string().optional(),
  })
  .refine((message) => message.parts !== undefined || message.content !== undefined, { message: 'needs parts (or content)', path: ['parts'] });

export const chatRequestSchema = z.looseObject({
  id: identifier,
  messages: z.array(messageSchema).min(1, 'must hold at least one message').max(10_000),
  trigger: z.enum(['submit-message', 'regenerate-message']).default('submit-message'),
  /** With `regenerate-message`: the assistant message the new answer replaces. */
  messageId: echoedId.optional(),
  agentId: identifier.optional(),
  useSystemLlm: z.boolean().optional(),
  /** An embedded widget: the workspace memory tier is not searched. */
  widgetMode: z.boolean().optional(),
  /** Tools this turn is expected to need (the seed's `complexity_assessment` tool hints): offered first. */
  toolHints: z.array(z.string().min(1).max(128)).max(32).optional(),
});

export interface ChatRequest {
  /** The client's chat id (unique within the caller's workspace). */
  chatId: string;
  userMessage: StoredMessage;
  trigger: 'submit-message' | 'regenerate-message';
  /** The answer a regenerate request replaces, when the client named it. */
  replacesMessageId?: string;
  agentId?: string;
  useSystemLlm?: boolean;
  widgetMode?: boolean;
  toolHints?: string[];
}

/**
 * What ai 6 and 7 send after `addToolApprovalResponse` (with `sendAutomaticallyWhen`): the whole chat
 * again, the last message being the assistant's, its tool parts in state `approval-responded` with
 * `approval: { id, approved, reason? }`. It answers the running turn's approvals; it starts no turn.
 */
export interface ApprovalResponses {
  chatId: string;
  /** The assistant message the client continues. */
  messageId: string;
  responses: Array<{ approvalId: string; approved: boolean; reason?: string }>;
}

export type ParseResult =
  | { ok: true; request: ChatRequest; approvals?: undefined }
  | { ok: true; approvals: ApprovalResponses; request?: undefined }
  | { ok: false; message: string; field?: string };

const approvalResponsePart = z.looseObject({
  state: z.literal('approval-responded'),
  approval: z.looseObject({ id: z.string().min(1).max(200), approved: z.boolean(), reason: z.string().max(2000).optional() }),
});

/** The approval answers an assistant message carries, or a problem naming the part. */
function approvalResponsesOf(parts: readonly unknown[], index: number): ApprovalResponses['responses'] | { field: string; message: string } {
  const responses: ApprovalResponses['responses'] = [];
  for (const [partIndex, part] of parts.entries()) {
    if ((part as { state?: unknown }).state !== 'approval-responded') continue;
    const parsed = approvalResponsePart.safeParse(part);
    const field = `messages.${index}.parts.${partIndex}.approval`;
    if (!parsed.success) return { field, message: `${field}: must be { id, approved, reason? } (${parsed.error.issues[0]!.path.join('.') || 'approval'}: ${parsed.error.issues[0]!.message})` };
    const { id, approved, reason } = parsed.data.approval;
    responses.push({ approvalId: id, approved, ...(reason ? { reason } : {}) });
  }
  return responses;
}

export function parseChatRequest(body: unknown): ParseResult {
  const parsed = chatRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.');
    return { ok: false, field, message: `${field || 'body'}: ${issue.message}` };
  }
  const lastIndex = parsed.data.messages.length - 1;
  const last = parsed.data.messages[lastIndex]!;
  if (last.role === 'assistant' && last.parts?.some((part) => (part as { state?: unknown }).state === 'approval-responded')) {
    const responses = approvalResponsesOf(last.parts, lastIndex);
    if (!Array.isArray(responses)) return { ok: false, field: responses.field, message: responses.message };
    return { ok: true, approvals: { chatId: parsed.data.id, messageId: last.id, responses } };
  }
  if (last.role !== 'user') return { ok: false, field: 'messages', message: 'messages: the last message must be from the user' };
  if (!CLIENT_ID_PATTERN.test(last.id)) return { ok: false, field: `messages.${lastIndex}.id`, message: `messages.${lastIndex}.id: must be 1–200 letters, digits or _ . : -` };
  const parts = (last.parts ?? [{ type: 'text', text: last.content ?? '' }]) as StoredMessage['parts'];
  const problem = findJsonProblem(parts, ['messages', lastIndex, 'parts']);
  if (problem) return { ok: false, field: problem.path, message: `${problem.path}: ${problem.message}` };
  const text = messageText(parts);
  // A message of attached files alone is a question too (`sendMessage({ files })`).
  if (!text.trim() && !parts.some((part) => part.type === 'file')) return { ok: false, field: 'messages', message: 'messages: the last message has no text' };
  if (text.length > MAX_MESSAGE_TEXT_CHARACTERS) {
    return { ok: false, field: 'messages', message: `messages: the last message is longer than ${MAX_MESSAGE_TEXT_CHARACTERS} characters` };
  }
  const data = parsed.data;
  return {
    ok: true,
    request: {
      chatId: data.id,
      userMessage: { id: last.id, role: 'user', parts },
      trigger: data.trigger,
      ...(data.trigger === 'regenerate-message' && data.messageId ? { replacesMessageId: data.messageId } : {}),
      ...(data.agentId ? { agentId: data.agentId } : {}),
      ...(data.useSystemLlm !== undefined ? { useSystemLlm: data.useSystemLlm } : {}),
      ...(data.widgetMode !== undefined ? { widgetMode: data.widgetMode } : {}),
      ...(data.toolHints && data.toolHints.length > 0 ? { toolHints: [...new Set(data.toolHints)] } : {}),
    },
  };
}

/** `POST /api/chat/:id/approvals/:approvalId`: the user's answer to a tool approval request. */
export const approvalAnswerSchema = z.strictObject({
  approved: z.boolean().describe('true runs the tool call (once); false denies it, and the model is told.'),
  reason: z.string().max(2000).optional().describe('Why (shown to the model for a denial).'),
});

/** `POST /api/chat/:id/steer`: a message for the running turn. */
export const steeringSchema = z.strictObject({
  text: z.string().min(1).max(MAX_STEERING_TEXT_CHARACTERS).describe('What the model should take into account from its next hop on.'),
  id: identifier.optional().describe('The client\'s id of the message (a repeated id is taken once); generated when absent.'),
});
