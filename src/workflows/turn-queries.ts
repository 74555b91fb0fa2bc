/**
 * What every version of the chat turn shares with operators and clients: the `state` query and the
 * notice streamed and kept when the model still wants tools at the tool-round limit.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { TurnState } from '../shared/turn';
import type { ApprovalAnswer, ApprovalOutcome, SteeringMessage } from '../shared/turn-control';

/** Live state of a running turn, for operators (`temporal workflow query --type state`). */
export const turnStateQuery = defineQuery<TurnState>('state');

/** The text streamed and kept in the answer when the model still wants tools at the tool-round limit. */
export function hopLimitWarning(maxRounds: number): string {
  return `I stopped after ${maxRounds} tool rounds, the limit for this agent. Ask me to continue if you need more.`;
}

/**
 * The user's answer to a tool approval request. Validated before it enters history: an unknown id
 * (or another workspace's answer) and a second answer are rejected.
 */
export const approveToolUpdate = defineUpdate<ApprovalOutcome, [ApprovalAnswer]>('approveTool');

/** A steering message for the running turn: the model reads it from the next hop on. */
export const steerUpdate = defineUpdate<{ id: string; accepted: true }, [SteeringMessage]>('steer');
