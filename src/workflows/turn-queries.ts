/**
 * What every version of the chat turn shares with operators and clients: the `state` query and the
 * notice streamed and kept when the model still wants tools at the tool-round limit.
 */
import { defineQuery } from '@temporalio/workflow';
import type { TurnState } from '../shared/turn';

/** Live state of a running turn, for operators (`temporal workflow query --type state`). */
export const turnStateQuery = defineQuery<TurnState>('state');

/** The text streamed and kept in the answer when the model still wants tools at the tool-round limit. */
export function hopLimitWarning(maxRounds: number): string {
  return `I stopped after ${maxRounds} tool rounds, the limit for this agent. Ask me to continue if you need more.`;
}
