/**
 * Chat messages as stored and as sent by AI SDK clients: the UI message parts format. Pure types.
 */

export interface TextPart {
  type: 'text';
  text: string;
}

/** A stored message part; parts we do not interpret are kept as they came. */
export type MessagePart = TextPart | { type: string; [key: string]: unknown };

export interface StoredMessage {
  id: string;
  role: 'user' | 'assistant' | 'system';
  parts: MessagePart[];
}

/** The text of a message: its text parts joined. */
export function messageText(parts: readonly MessagePart[]): string {
  return parts
    .filter((part): part is TextPart => part.type === 'text' && typeof (part as TextPart).text === 'string')
    .map((part) => part.text)
    .join('');
}
