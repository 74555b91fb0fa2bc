/**
 * Conversation titles: the workflow id, the instruction the model gets, and the clean-up of what it
 * answers. Pure: imported by workflow code, the activity and tests alike.
 */

/** One title workflow per conversation: a second start while it runs attaches nothing and is ignored. */
export function conversationTitleWorkflowId(conversationId: string): string {
  return `conversation-title:${conversationId}`;
}

import type { LlmConnectionReference } from './turn';

export interface ConversationTitleInput {
  conversationId: string;
  workspaceId: string;
  /** The model that answered, which writes the title (the turn already resolved it). */
  model: string;
  /** The agent's LLM connection, ids only (the activity loads its key); absent: the deployment's. */
  connection?: LlmConnectionReference;
  /** The turn whose answer completed the first exchange (for logs and the Temporal UI). */
  turnId: string;
}

export interface ConversationTitleResult {
  /** The stored title; absent when none was written (see `skipped`). */
  title?: string;
  skipped?: 'no-first-answer' | 'already-titled' | 'empty-title' | 'failed';
}

/** The system instruction of the title request. */
export const TITLE_INSTRUCTION =
  'You name chat conversations. Write a title for the conversation below: at most 6 words, in the language ' +
  'of the user, no quotes, no final punctuation. Reply with the title only.';

/** The user turn that closes the title request. */
export const TITLE_REQUEST = 'Write the title for this conversation now.';

/** Longest generated title kept, in characters; longer answers are cut at a word boundary. */
export const GENERATED_TITLE_MAX_CHARACTERS = 80;

/**
 * A model's answer as a title: the first non-empty line, without a `Title:` label, Markdown emphasis,
 * surrounding quotes or final punctuation, whitespace collapsed, cut to
 * {@link GENERATED_TITLE_MAX_CHARACTERS} at a word boundary. Empty when nothing usable is left.
 */
export function cleanTitle(answer: string): string {
  const line = answer.split(/\r?\n/).map((text) => text.trim()).find((text) => text.length > 0) ?? '';
  let title = line
    .replace(/^#+\s*/, '')
    .replace(/^title\s*:\s*/i, '')
    .replace(/[*`]+/g, '')
    .replace(/(^|\s)_+|_+(?=\s|$)/g, '$1')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^["'“”‘’«»]+|["'“”‘’«»]+$/g, '')
    .replace(/[.!?:;,]+$/, '')
    .trim();
  if (title.length > GENERATED_TITLE_MAX_CHARACTERS) {
    const cut = title.slice(0, GENERATED_TITLE_MAX_CHARACTERS + 1);
    const lastSpace = cut.lastIndexOf(' ');
    title = (lastSpace > 20 ? cut.slice(0, lastSpace) : cut.slice(0, GENERATED_TITLE_MAX_CHARACTERS)).trim();
  }
  return title;
}
