/**
 * The body `DefaultChatTransport` sends to `POST /api/chat`, parsed with a schema at the boundary:
 * `{ id, messages, trigger, messageId?, ...extra fields }`. Only the last message, which must be the
 * user's, starts a turn; its id is the request id.
 */
import { z } from 'zod';
import { messageText, type StoredMessage } from '../shared/messages';

const identifier = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'may only contain letters, digits and _ . : -');

const partSchema = z.looseObject({ type: z.string().min(1) });

/** ai ≥ 5 sends `parts`; ai 4 sends `content` (and, from 4.2, `parts` too). */
const messageSchema = z
  .looseObject({
    id: identifier,
    role: z.enum(['user', 'assistant', 'system', 'data']),
    parts: z.array(partSchema).max(200).optional(),
    content: z.string().optional(),
  })
  .refine((message) => message.parts !== undefined || message.content !== undefined, { message: 'needs parts (or content)', path: ['parts'] });

export const chatRequestSchema = z.looseObject({
  id: identifier,
  messages: z.array(messageSchema).min(1, 'must hold at least one message'),
  trigger: z.enum(['submit-message', 'regenerate-message']).default('submit-message'),
  messageId: identifier.optional(),
  agentId: identifier.optional(),
  useSystemLlm: z.boolean().optional(),
});

export interface ChatRequest {
  conversationId: string;
  requestId: string;
  userMessage: StoredMessage;
  agentId?: string;
  useSystemLlm?: boolean;
}

export type ParseResult = { ok: true; request: ChatRequest } | { ok: false; message: string; field?: string };

export function parseChatRequest(body: unknown): ParseResult {
  const parsed = chatRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.');
    return { ok: false, field, message: `${field || 'body'}: ${issue.message}` };
  }
  const last = parsed.data.messages.at(-1)!;
  if (last.role !== 'user') return { ok: false, field: 'messages', message: 'messages: the last message must be from the user' };
  const parts = (last.parts ?? [{ type: 'text', text: last.content ?? '' }]) as StoredMessage['parts'];
  if (!messageText(parts).trim() && !parts.some((part) => part.type === 'file')) {
    return { ok: false, field: 'messages', message: 'messages: the last message has no text' };
  }
  return {
    ok: true,
    request: {
      conversationId: parsed.data.id,
      requestId: last.id,
      userMessage: { id: last.id, role: 'user', parts },
      ...(parsed.data.agentId ? { agentId: parsed.data.agentId } : {}),
      ...(parsed.data.useSystemLlm !== undefined ? { useSystemLlm: parsed.data.useSystemLlm } : {}),
    },
  };
}
