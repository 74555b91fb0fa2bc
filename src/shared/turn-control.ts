/**
 * The user's control over a running turn (issue 14): tool approvals, steering messages and the
 * policy for a message sent while a turn still runs. Pure types and helpers: shared by workflow
 * code, activities and the API.
 */

/** What an agent says about approvals: tool patterns that need one, and how long a turn waits. */
export interface ToolApprovalSettings {
  /** Tool patterns (`name` or `prefix*`, as in `allowedTools`) whose calls need the user's approval. */
  tools: string[];
  /** How long a turn waits for an answer; then the call is denied with a reason. */
  timeoutSeconds: number;
}

/** The approval settings a turn runs with: the exact tool names they cover, decided at activation. */
export interface TurnApproval {
  toolNames: string[];
  timeoutSeconds: number;
}

/** What happens to a new user message while a turn of the conversation still runs. */
export type BusyPolicy = 'queue' | 'interrupt' | 'reject';

export const BUSY_POLICIES: readonly BusyPolicy[] = ['queue', 'interrupt', 'reject'];

export const DEFAULT_APPROVAL_TIMEOUT_SECONDS = 300;

/** An answer to an approval request, as the API delivers it to the turn (the `approveTool` update). */
export interface ApprovalAnswer {
  approvalId: string;
  approved: boolean;
  reason?: string;
  /** The workspace of the caller: checked against the turn's own before the answer is accepted. */
  workspaceId: string;
}

export interface ApprovalOutcome {
  approvalId: string;
  toolCallId: string;
  approved: boolean;
}

/** Why an update was refused; the API maps each to a status (`ApplicationFailure` type). */
export const APPROVAL_REJECTIONS = {
  notFound: 'ApprovalNotFound',
  alreadyAnswered: 'ApprovalAlreadyAnswered',
} as const;

/** A steering message, as the API delivers it to the running turn (the `steer` update). */
export interface SteeringMessage {
  /** The client's id for the message (idempotency: the same id is taken once). */
  id: string;
  text: string;
  workspaceId: string;
}

export const STEERING_REJECTIONS = {
  notAccepting: 'SteeringNotAccepted',
} as const;

/** The text the model reads for a denied call (the user's reason, or the timeout). */
export function deniedToolText(reason: string | undefined): string {
  return `Not executed: the user denied this tool call${reason ? ` (reason: ${reason})` : ''}. Do not call it again in this turn; answer without it.`;
}

/** The reason of a call denied because nobody answered in time. */
export function approvalTimeoutReason(timeoutSeconds: number): string {
  return `no answer within ${timeoutSeconds} seconds`;
}

/** The most approvals one workflow keeps track of (bounded by tool rounds × calls anyway). */
export const MAX_STEERING_MESSAGES = 20;
export const MAX_STEERING_TEXT_CHARACTERS = 10_000;
