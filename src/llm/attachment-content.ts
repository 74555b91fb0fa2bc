/**
 * What the model gets for the files attached to user messages. Images go to vision-capable models
 * as `image_url` content parts (a data URL read from the object store: the model's endpoint cannot
 * reach our API); text-like files are inlined, cut at a character budget; anything else, and images
 * for models without vision, is described by name, type and size so the model can say what it
 * cannot read. Runs inside the LLM activity: attachments never pass through workflow history.
 */
import type { ChatCompletionContentPart } from 'openai/resources/chat/completions';
import { isTextLike, formatBytes, type Attachments } from '../storage/attachments';
import { messageText, type MessagePart, type StoredMessage } from '../shared/messages';

export interface AttachmentContentOptions {
  workspaceId: string;
  model: string;
  /** Model name patterns (`*` wildcard) that accept image parts. */
  visionModels: readonly string[];
  /** Characters of one text file given to the model before it is cut. */
  inlineTextChars: number;
}

/** Whether a model name matches one of the vision patterns (case-insensitive, `*` matches anything). */
export function isVisionModel(model: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => {
    const expression = pattern
      .toLowerCase()
      .split('*')
      .map((piece) => piece.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    return new RegExp(`^${expression}$`).test(model.toLowerCase());
  });
}

interface FilePartFields {
  mediaType: string;
  filename?: string;
  url: string;
}

function isFilePart(part: MessagePart): part is MessagePart & FilePartFields {
  return part.type === 'file' && typeof (part as { url?: unknown }).url === 'string' && typeof (part as { mediaType?: unknown }).mediaType === 'string';
}

/** Cuts text at `limit` characters (never inside a surrogate pair) and says how much was left out. */
function cutText(text: string, limit: number): string {
  if (text.length <= limit) return text;
  let end = limit;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}\n[… cut: the file has ${text.length} characters, the first ${end} are shown]`;
}

function escapeAttribute(value: string): string {
  return value.replace(/[&"<>\n]/g, (character) => ({ '&': '&amp;', '"': '&quot;', '<': '&lt;', '>': '&gt;', '\n': ' ' })[character]!);
}

/**
 * The content parts of each user message that carries files (messages without files are absent:
 * they keep their plain-text content). Text parts first, then one part per file, in order.
 */
export async function userContentsWithAttachments(
  messages: readonly StoredMessage[],
  attachments: Attachments,
  options: AttachmentContentOptions,
): Promise<Map<StoredMessage, ChatCompletionContentPart[]>> {
  const vision = isVisionModel(options.model, options.visionModels);
  const contents = new Map<StoredMessage, ChatCompletionContentPart[]>();
  for (const message of messages) {
    if (message.role !== 'user') continue;
    const files = message.parts.filter(isFilePart);
    if (files.length === 0) continue;
    const content: ChatCompletionContentPart[] = [];
    const text = messageText(message.parts);
    if (text) content.push({ type: 'text', text });
    for (const file of files) {
      const name = file.filename ?? 'unnamed';
      const stored = await attachments.read(options.workspaceId, file.url);
      if (!stored) {
        content.push({ type: 'text', text: `[Attached file "${name}" (${file.mediaType}) is no longer available.]` });
        continue;
      }
      const type = stored.contentType;
      const description = `"${name}" (${type}, ${formatBytes(stored.size)})`;
      if (type.startsWith('image/')) {
        content.push(
          vision
            ? { type: 'image_url', image_url: { url: `data:${type};base64,${stored.body.toString('base64')}` } }
            : { type: 'text', text: `[Attached image ${description}: this model cannot view images.]` },
        );
      } else if (isTextLike(type)) {
        const body = cutText(stored.body.toString('utf8'), options.inlineTextChars);
        content.push({ type: 'text', text: `<attachment name="${escapeAttribute(name)}" type="${escapeAttribute(type)}">\n${body}\n</attachment>` });
      } else {
        content.push({ type: 'text', text: `[Attached file ${description}: its content is not available to you.]` });
      }
    }
    contents.set(message, content);
  }
  return contents;
}
