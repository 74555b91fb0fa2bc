/**
 * The pure parts of the user's control over a turn: which tools need approval in a turn, and how the
 * next request of an ai 6/7 client that answered approvals is read.
 */
import { approvalToolNames } from '../../src/agents/agent-activation';
import { parseChatRequest } from '../../src/api/chat-request';
import { deniedToolText } from '../../src/shared/turn-control';

const candidates = [
  { name: 'workspace_read_file', description: 'read' },
  { name: 'workspace_write_file', description: 'write' },
  { name: 'APP_GITHUB_CREATE_ISSUE', description: 'app action', requiresApproval: true },
  { name: 'test_record_side_effect', description: 'test' },
];

describe('approvalToolNames', () => {
  it('takes the names the patterns cover and the tools that always ask, with the agent timeout or the default', () => {
    expect(approvalToolNames(candidates, { tools: ['workspace_w*'], timeoutSeconds: 30 })).toEqual({ toolNames: ['workspace_write_file', 'APP_GITHUB_CREATE_ISSUE'], timeoutSeconds: 30 });
    expect(approvalToolNames(candidates, null)).toEqual({ toolNames: ['APP_GITHUB_CREATE_ISSUE'], timeoutSeconds: 300 });
    // `*` does not reach test tools, as in allowedTools.
    expect(approvalToolNames(candidates.slice(0, 2).concat(candidates[3]!), { tools: ['*'], timeoutSeconds: 10 })!.toolNames).toEqual(['workspace_read_file', 'workspace_write_file']);
    expect(approvalToolNames(candidates.slice(0, 2), null)).toBeUndefined();
  });
});

describe('the request after addToolApprovalResponse', () => {
  const user = { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'write it' }] };
  const assistant = (approval: unknown) => ({
    id: 'u1~assistant',
    role: 'assistant',
    parts: [{ type: 'step-start' }, { type: 'tool-workspace_write_file', toolCallId: 'call_1', state: 'approval-responded', input: { path: 'a' }, approval }],
  });

  it('reads the answers of the last assistant message', () => {
    const parsed = parseChatRequest({ id: 'chat-1', messages: [user, assistant({ id: 'apr_1', approved: false, reason: 'no' })], trigger: 'submit-message', messageId: 'u1~assistant' });
    expect(parsed).toEqual({ ok: true, approvals: { chatId: 'chat-1', messageId: 'u1~assistant', responses: [{ approvalId: 'apr_1', approved: false, reason: 'no' }] } });
  });

  it('names the part of a malformed answer', () => {
    const parsed = parseChatRequest({ id: 'chat-1', messages: [user, assistant({ id: 'apr_1', approved: 'yes' })] });
    expect(parsed).toMatchObject({ ok: false, field: 'messages.1.parts.1.approval' });
  });

  it('still refuses an assistant message without answers as the last message', () => {
    const parsed = parseChatRequest({ id: 'chat-1', messages: [user, { id: 'a1', role: 'assistant', parts: [{ type: 'text', text: 'hi' }] }] });
    expect(parsed).toMatchObject({ ok: false, field: 'messages' });
  });

  it('tells the model why a call did not run', () => {
    expect(deniedToolText('not now')).toContain('the user denied this tool call (reason: not now)');
    expect(deniedToolText(undefined)).not.toContain('reason');
  });
});
