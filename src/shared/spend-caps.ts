/**
 * Spend caps of a turn, decided in workflow code from recorded usage, so a replay decides the same:
 * the caps, the spend before the turn and the model prices come from the activation (recorded in
 * history), and this turn's own spend is the usage its hops returned (also in history).
 *
 * Caps are per turn (the agent's), per agent per UTC day and per workspace per UTC day, each in US
 * dollars and/or tokens. They are checked at hop boundaries: a hop that has started is never cut, so a
 * turn can end a little past a cap, never a whole hop past it. A warning goes out once, when any cap
 * passes the warning ratio.
 *
 * Pure: imported by workflow code.
 */
import type { TokenUsage } from './stream-events';

export type CapScope = 'turn' | 'agent-day' | 'workspace-day';
export type CapUnit = 'usd' | 'tokens';

export interface SpendCap {
  scope: CapScope;
  unit: CapUnit;
  limit: number;
  /** What the scope had spent when the turn started (0 for the turn's own cap). */
  spentBefore: number;
}

export interface ModelPrice {
  inputUsdPerMillion: number;
  outputUsdPerMillion: number;
}

/** What a turn's activation tells the workflow about money. */
export interface TurnBudget {
  caps: SpendCap[];
  /** Prices of the turn's models; a model without a price costs 0 (token caps still hold). */
  prices: Record<string, ModelPrice>;
  /** From this share of a cap on, the user is warned (once per turn). */
  warningRatio: number;
}

export interface CapState {
  cap: SpendCap;
  spent: number;
}

/** The caps an agent and a workspace set, as stored (absent: no cap). */
export interface SpendCapSettings {
  turnUsd?: number;
  turnTokens?: number;
  dailyUsd?: number;
  dailyTokens?: number;
}

const SCOPE_WORDS: Record<CapScope, string> = { turn: "this turn's", 'agent-day': "this agent's daily", 'workspace-day': "this workspace's daily" };

function formatAmount(cap: SpendCap, amount: number): string {
  return cap.unit === 'usd' ? `$${amount.toFixed(amount < 1 ? 4 : 2)}` : `${Math.round(amount)} tokens`;
}

/** The notice a user reads when a cap stops the turn. */
export function capReachedText(state: CapState): string {
  return `I stopped here: ${SCOPE_WORDS[state.cap.scope]} spend cap of ${formatAmount(state.cap, state.cap.limit)} is reached. An admin can raise it.`;
}

/** The notice a user reads when a cap is close. */
export function capWarningText(state: CapState): string {
  const share = Math.floor((state.spent / state.cap.limit) * 100);
  return `Heads-up: ${SCOPE_WORDS[state.cap.scope]} spend is at ${share}% of its cap of ${formatAmount(state.cap, state.cap.limit)}.`;
}

export function costOf(price: ModelPrice | undefined, usage: TokenUsage): number {
  if (!price) return 0;
  return (usage.inputTokens * price.inputUsdPerMillion + usage.outputTokens * price.outputUsdPerMillion) / 1_000_000;
}

/** Meters one turn's spend against its budget. */
export class SpendMeter {
  private usd = 0;
  private tokens = 0;
  private warned = false;

  constructor(private readonly budget: TurnBudget | undefined) {}

  /** Adds a hop's usage (any attempt: every attempt is paid for). */
  add(model: string, usage: TokenUsage): void {
    this.usd += costOf(this.budget?.prices[model], usage);
    this.tokens += usage.inputTokens + usage.outputTokens;
  }

  private states(): CapState[] {
    return (this.budget?.caps ?? []).map((cap) => ({ cap, spent: cap.spentBefore + (cap.unit === 'usd' ? this.usd : this.tokens) }));
  }

  /** The first cap reached, if any: the turn must not start another hop. */
  reached(): CapState | undefined {
    return this.states().find((state) => state.spent >= state.cap.limit);
  }

  /** The cap that just passed the warning ratio, once per turn; undefined otherwise. */
  takeWarning(): CapState | undefined {
    if (this.warned || !this.budget) return undefined;
    const close = this.states().find((state) => state.spent < state.cap.limit && state.spent >= state.cap.limit * this.budget!.warningRatio);
    if (close) this.warned = true;
    return close;
  }
}

/** The deployment's defaults: an agent's own caps, and the workspace's daily caps. */
export type SpendCapDefaults = SpendCapSettings & { workspaceDailyUsd?: number; workspaceDailyTokens?: number };

/**
 * The caps of a turn from the agent's and the workspace's settings (each falling back to the
 * deployment's defaults) and what each scope spent today before the turn.
 */
export function capsOf(
  agent: SpendCapSettings,
  workspace: SpendCapSettings,
  defaults: SpendCapDefaults,
  spentToday: { agent: { usd: number; tokens: number }; workspace: { usd: number; tokens: number } },
): SpendCap[] {
  const caps: SpendCap[] = [];
  const add = (scope: CapScope, unit: CapUnit, limit: number | undefined, spentBefore: number) => {
    if (limit !== undefined && limit > 0) caps.push({ scope, unit, limit, spentBefore });
  };
  add('turn', 'usd', agent.turnUsd ?? defaults.turnUsd, 0);
  add('turn', 'tokens', agent.turnTokens ?? defaults.turnTokens, 0);
  add('agent-day', 'usd', agent.dailyUsd ?? defaults.dailyUsd, spentToday.agent.usd);
  add('agent-day', 'tokens', agent.dailyTokens ?? defaults.dailyTokens, spentToday.agent.tokens);
  add('workspace-day', 'usd', workspace.dailyUsd ?? defaults.workspaceDailyUsd, spentToday.workspace.usd);
  add('workspace-day', 'tokens', workspace.dailyTokens ?? defaults.workspaceDailyTokens, spentToday.workspace.tokens);
  return caps;
}
