import { getToolName } from 'ai';
import { useState } from 'react';
import { ToolIcon } from './Icons';

type ToolPart = Parameters<typeof getToolName>[0];

const STATE_LABELS: Record<string, string> = {
  'input-streaming': 'preparing',
  'input-available': 'running',
  'approval-requested': 'needs your approval',
  'approval-responded': 'answered',
  'output-available': 'done',
  'output-error': 'failed',
  'output-denied': 'denied',
};

function formatValue(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value, null, 2);
}

/** A tool call with its input and output, and Approve/Deny while it waits for approval. */
export function ToolCall({ part, onApproval }: { part: ToolPart; onApproval(approvalId: string, approved: boolean, reason?: string): void }) {
  const name = getToolName(part);
  // Read by the model with the denial ("the user denied this tool call (reason: …)").
  const [reason, setReason] = useState('');
  const approval = 'approval' in part ? part.approval : undefined;
  return (
    <details className={`tool-call tool-${part.state}`} open data-tool-name={name} data-state={part.state}>
      <summary>
        <span className="tool-icon">
          <ToolIcon />
        </span>
        <span className="tool-name">{name}</span>
        <span className="badge">{STATE_LABELS[part.state] ?? part.state}</span>
      </summary>
      {part.input !== undefined && (
        <div className="tool-section">
          <span className="tool-label">Input</span>
          <pre className="tool-input">{formatValue(part.input)}</pre>
        </div>
      )}
      {part.state === 'output-available' && (
        <div className="tool-section">
          <span className="tool-label">Output</span>
          <pre className="tool-output">{formatValue(part.output)}</pre>
        </div>
      )}
      {part.state === 'output-error' && (
        <div className="tool-section">
          <span className="tool-label">Error</span>
          <pre className="tool-error">{part.errorText}</pre>
        </div>
      )}
      {part.state === 'approval-requested' && approval && (
        <div className="approval">
          <span>{approval.requestReason ?? `Allow ${name} to run with this input?`}</span>
          <button type="button" className="primary" onClick={() => onApproval(approval.id, true)}>
            Approve
          </button>
          <button type="button" className="secondary" onClick={() => onApproval(approval.id, false, reason.trim() || undefined)}>
            Deny
          </button>
          <input className="approval-reason" aria-label="Reason for denying" placeholder="Reason, if you deny (optional)" value={reason} maxLength={500} onChange={(event) => setReason(event.target.value)} />
        </div>
      )}
      {part.state !== 'approval-requested' && approval && approval.approved !== undefined && (
        <div className="approval muted">{approval.approved ? 'You approved this call.' : `You denied this call${approval.reason ? `: ${approval.reason}` : '.'}`}</div>
      )}
    </details>
  );
}
