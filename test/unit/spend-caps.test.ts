/**
 * The spend meter the workflow runs: caps from settings and defaults, dollars from recorded prices,
 * a warning once past the ratio, the first cap reached.
 */
import { capReachedText, capsOf, capWarningText, SpendMeter, type TurnBudget } from '../../src/shared/spend-caps';

const noSpend = { agent: { usd: 0, tokens: 0 }, workspace: { usd: 0, tokens: 0 } };

describe('capsOf', () => {
  it("takes the agent's and the workspace's own caps over the deployment's defaults, and the spend before the turn", () => {
    const caps = capsOf({ turnTokens: 500, dailyUsd: 2 }, { dailyTokens: 10_000 }, { turnUsd: 0.5, turnTokens: 9, workspaceDailyUsd: 50 }, { agent: { usd: 1.5, tokens: 300 }, workspace: { usd: 20, tokens: 4000 } });
    expect(caps).toEqual([
      { scope: 'turn', unit: 'usd', limit: 0.5, spentBefore: 0 },
      { scope: 'turn', unit: 'tokens', limit: 500, spentBefore: 0 },
      { scope: 'agent-day', unit: 'usd', limit: 2, spentBefore: 1.5 },
      { scope: 'workspace-day', unit: 'usd', limit: 50, spentBefore: 20 },
      { scope: 'workspace-day', unit: 'tokens', limit: 10_000, spentBefore: 4000 },
    ]);
  });

  it('has no caps when nothing sets one', () => {
    expect(capsOf({}, {}, {}, noSpend)).toEqual([]);
  });
});

describe('SpendMeter', () => {
  const budget: TurnBudget = {
    caps: [
      { scope: 'turn', unit: 'usd', limit: 0.01, spentBefore: 0 },
      { scope: 'workspace-day', unit: 'tokens', limit: 10_000, spentBefore: 9_000 },
    ],
    prices: { 'gpt-4o': { inputUsdPerMillion: 2.5, outputUsdPerMillion: 10 } },
    warningRatio: 0.8,
  };

  it('prices each hop with its own model and stops at the first cap reached', () => {
    const meter = new SpendMeter(budget);
    expect(meter.reached()).toBeUndefined();
    meter.add('gpt-4o', { inputTokens: 400, outputTokens: 100 });
    // $0.002 of $0.01, and 9,500 of 10,000 tokens: the workspace's daily tokens are at 95%.
    expect(meter.reached()).toBeUndefined();
    const warning = meter.takeWarning()!;
    expect(warning.cap.scope).toBe('workspace-day');
    expect(capWarningText(warning)).toBe("Heads-up: this workspace's daily spend is at 95% of its cap of 10000 tokens.");
    expect(meter.takeWarning()).toBeUndefined();
    meter.add('unpriced-model', { inputTokens: 400, outputTokens: 200 });
    const reached = meter.reached()!;
    expect(reached).toMatchObject({ cap: { scope: 'workspace-day', unit: 'tokens' }, spent: 10_100 });
    expect(capReachedText(reached)).toBe("I stopped here: this workspace's daily spend cap of 10000 tokens is reached. An admin can raise it.");
  });

  it('reaches a dollar cap from recorded prices', () => {
    const meter = new SpendMeter({ ...budget, caps: [budget.caps[0]!] });
    meter.add('gpt-4o', { inputTokens: 2000, outputTokens: 600 });
    expect(meter.reached()).toMatchObject({ cap: { scope: 'turn', unit: 'usd' } });
    expect(meter.reached()!.spent).toBeCloseTo(0.011, 10);
  });

  it('meters nothing without a budget', () => {
    const meter = new SpendMeter(undefined);
    meter.add('gpt-4o', { inputTokens: 1e9, outputTokens: 1e9 });
    expect(meter.reached()).toBeUndefined();
    expect(meter.takeWarning()).toBeUndefined();
  });
});
