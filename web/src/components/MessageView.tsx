/**
 * One message, part by part, as the AI SDK assembled it: Markdown text (streamdown, made for
 * half-finished Markdown), tool calls with their input and output, approvals, memories used,
 * sources, images and attachments, the hop-limit warning, steering, and the answer's usage and cost.
 */
import { getToolName, isToolUIPart, type UIMessagePart } from 'ai';
import { Streamdown } from 'streamdown';
import type { AnswerMetadata, ChatMessage } from '../api';
import { MemoryIcon, PaperclipIcon, ToolIcon, WarningIcon } from './Icons';
import { MarkdownImage, StoredFileLink, StoredImage } from './StoredFile';
import { ToolCall } from './ToolCall';

type Part = ChatMessage['parts'][number];

/** Copy buttons only: the other controls open dialogs and menus styled for Tailwind, which this app does not use. */
const MARKDOWN_CONTROLS = { table: { copy: true, download: false, fullscreen: false }, code: { copy: true, download: false } } as const;
/** Links open in a new tab directly (the library still sanitises their URLs). */
const LINK_SAFETY = { enabled: false } as const;
/** Images in answers may live behind the API (generated images): fetched with the key. */
const MARKDOWN_COMPONENTS = { img: MarkdownImage };
type LoosePart = { type: string; [field: string]: unknown };

interface MessageViewProps {
  message: ChatMessage;
  streaming: boolean;
  onApproval(approvalId: string, approved: boolean, reason?: string): void;
}

function dataOf(part: LoosePart): Record<string, unknown> {
  const data = part.data;
  return data && typeof data === 'object' ? (data as Record<string, unknown>) : {};
}

function formatCost(costUsd: number): string {
  if (costUsd === 0) return '$0';
  if (costUsd < 0.01) return `$${costUsd.toFixed(6).replace(/0+$/, '')}`;
  return `$${costUsd.toFixed(4)}`;
}

const FINISH_LABELS: Record<string, string> = {
  cancelled: 'stopped',
  'tool-limit-reached': 'tool limit',
  'hop-limit': 'tool limit',
  length: 'cut at max tokens',
  'content-filter': 'filtered',
  error: 'failed',
};

function AnswerFooter({ metadata, streaming }: { metadata: AnswerMetadata | undefined; streaming: boolean }) {
  if (streaming) return <div className="answer-footer muted">Answering…</div>;
  if (!metadata) return null;
  const items: string[] = [];
  if (metadata.model) items.push(metadata.model);
  if (metadata.usage) items.push(`${metadata.usage.inputTokens.toLocaleString()} in · ${metadata.usage.outputTokens.toLocaleString()} out tokens`);
  if (metadata.costUsd !== undefined) items.push(formatCost(metadata.costUsd));
  const finish = metadata.finishReason ? FINISH_LABELS[metadata.finishReason] : undefined;
  if (items.length === 0 && !finish && !metadata.cached) return null;
  return (
    <div className="answer-footer muted" data-finish-reason={metadata.finishReason}>
      {items.join(' · ')}
      {finish && <span className={`badge badge-${metadata.finishReason}`}>{finish}</span>}
      {metadata.cached && <span className="badge">cached answer</span>}
    </div>
  );
}

function FilePart({ part }: { part: LoosePart }) {
  const url = String(part.url ?? '');
  const mediaType = String(part.mediaType ?? '');
  const name = String(part.filename ?? (mediaType || 'attachment'));
  if (mediaType.startsWith('image/')) {
    return (
      <span className="image-part">
        <StoredImage src={url} alt={name} />
      </span>
    );
  }
  return (
    <StoredFileLink className="chip attachment" url={url} name={name}>
      <PaperclipIcon /> {name}
    </StoredFileLink>
  );
}

function MemoryPart({ part }: { part: LoosePart }) {
  const memories = (dataOf(part).memories as Array<{ id: string; tier?: string; text?: string }> | undefined) ?? [];
  if (memories.length === 0) return null;
  return (
    <details className="memories">
      <summary>
        <MemoryIcon /> {memories.length} {memories.length === 1 ? 'memory' : 'memories'} used
      </summary>
      <ul>
        {memories.map((memory) => (
          <li key={memory.id}>
            {memory.tier && <span className="badge">{memory.tier}</span>} {memory.text}
          </li>
        ))}
      </ul>
    </details>
  );
}

/** The app actions (MCP) a turn offered the model, and how they were chosen. */
function AppActionsPart({ part }: { part: LoosePart }) {
  const data = dataOf(part);
  const actions = Array.isArray(data.actions) ? (data.actions as unknown[]).map(String) : [];
  const hints = Array.isArray(data.megaToolHints) ? (data.megaToolHints as unknown[]).map(String) : [];
  const tier = typeof data.tier === 'string' ? data.tier : undefined;
  let text: string;
  if (actions.length > 0) text = `Using app actions: ${actions.join(', ')}`;
  else if (hints.length > 0) text = `Using app actions by name (app_execute), such as ${hints.slice(0, 5).join(', ')}${hints.length > 5 ? ', …' : ''}`;
  else text = 'No app action matched this message.';
  return (
    <div className="notice app-actions" data-notice="app-actions" data-tier={tier} title={tier ? `chosen by ${tier}` : undefined}>
      <ToolIcon /> {text}
    </div>
  );
}

const STAGE_STATUS: Record<string, string> = { running: 'running…', completed: 'done', failed: 'failed', cancelled: 'cancelled' };

/** A recipe stage: its number, name and kind, and how it ended. */
function StagePart({ part }: { part: LoosePart }) {
  const data = dataOf(part);
  const status = String(data.status ?? 'running');
  const duration = typeof data.durationMs === 'number' ? ` in ${data.durationMs < 1000 ? `${data.durationMs} ms` : `${(data.durationMs / 1000).toFixed(1)} s`}` : '';
  const kind = data.kind === 'action' ? 'app action' : data.kind === 'prompt' ? 'model' : undefined;
  return (
    <div className={`notice stage stage-${status}`} data-notice="stage" data-status={status}>
      Stage {Number(data.index ?? 0) + 1}: {String(data.name ?? '')}
      {kind ? ` (${kind})` : ''} · {STAGE_STATUS[status] ?? status}
      {duration}
    </div>
  );
}

function Sources({ parts }: { parts: LoosePart[] }) {
  if (parts.length === 0) return null;
  return (
    <div className="sources">
      <span className="muted small">Sources</span>
      <ol>
        {parts.map((part, index) => (
          <li key={String(part.sourceId ?? index)}>
            {part.type === 'source-url' ? (
              <a href={String(part.url)} target="_blank" rel="noreferrer">
                {String(part.title ?? part.url)}
              </a>
            ) : (
              <span>
                {String(part.title ?? part.filename ?? 'document')}
                {part.filename ? <span className="muted"> · {String(part.filename)}</span> : null}
              </span>
            )}
          </li>
        ))}
      </ol>
    </div>
  );
}

function textOfSteering(part: LoosePart): string {
  const parts = (part.parts as Array<{ type: string; text?: string }> | undefined) ?? [];
  return parts
    .filter((inner) => inner.type === 'text')
    .map((inner) => inner.text ?? '')
    .join(' ');
}

export function MessageView({ message, streaming, onApproval }: MessageViewProps) {
  const parts = message.parts as Part[];
  const loose = parts as unknown as LoosePart[];
  const warnings = new Set(loose.filter((part) => part.type === 'data-warning').map((part) => String(dataOf(part).text ?? '')));
  const sources = loose.filter((part) => part.type === 'source-url' || part.type === 'source-document');
  const lastTextIndex = loose.map((part) => part.type).lastIndexOf('text');

  if (message.role === 'user') {
    return (
      <div className="message user" data-message-id={message.id}>
        {loose.map((part, index) => {
          if (part.type === 'text') return <p key={index} className="user-text">{String(part.text)}</p>;
          if (part.type === 'file') return <FilePart key={index} part={part} />;
          return null;
        })}
      </div>
    );
  }

  const content = parts.map((part, index) => {
    const generic = part as unknown as LoosePart;
    if (isToolUIPart(part as UIMessagePart<never, never>)) {
      const tool = part as Parameters<typeof getToolName>[0];
      return <ToolCall key={tool.toolCallId} part={tool} onApproval={onApproval} />;
    }
    switch (generic.type) {
      case 'text': {
        const text = String(generic.text ?? '');
        // The hop-limit warning arrives as text and as a data-warning part: show it once, as a warning.
        if (!text || warnings.has(text)) return null;
        return (
          <div key={index} className="answer-text">
            <Streamdown parseIncompleteMarkdown isAnimating={streaming && index === lastTextIndex} className="markdown" controls={MARKDOWN_CONTROLS} linkSafety={LINK_SAFETY} components={MARKDOWN_COMPONENTS}>
              {text}
            </Streamdown>
          </div>
        );
      }
      case 'reasoning':
        return (
          <details key={index} className="reasoning">
            <summary>Reasoning</summary>
            <p>{String(generic.text ?? '')}</p>
          </details>
        );
      case 'file':
        return <FilePart key={index} part={generic} />;
      case 'data-memory':
        return <MemoryPart key={index} part={generic} />;
      case 'data-error':
        return (
          <div key={index} className="answer-error" role="alert">
            The answer failed: {String(dataOf(generic).errorText ?? 'unknown error')}
          </div>
        );
      case 'data-warning':
        return (
          <div key={index} className="warning" role="note">
            <WarningIcon /> {String(dataOf(generic).text ?? '')}
          </div>
        );
      case 'data-tool-execution':
        return streaming ? (
          <div key={index} className="muted small notice">
            {String(dataOf(generic).text ?? 'Running tools…')}
          </div>
        ) : null;
      case 'data-hop-restart':
        return streaming ? (
          <div key={index} className="muted small notice">
            Retrying after an interruption…
          </div>
        ) : null;
      case 'data-app-actions':
        return <AppActionsPart key={index} part={generic} />;
      case 'data-stage': {
        // A stage streams a part when it starts and when it ends: show its latest state only.
        const stageIndex = dataOf(generic).index;
        const later = loose.slice(index + 1).some((other) => other.type === 'data-stage' && dataOf(other).index === stageIndex);
        return later ? null : <StagePart key={index} part={generic} />;
      }
      case 'data-turn-queued':
        return (
          <div key={index} className="notice turn-notice" role="status" data-notice="turn-queued">
            {loose.some((other) => other.type === 'data-turn-dequeued') ? 'Waited for the previous answer to finish.' : 'Queued behind the running answer: this one starts when it is done.'}
          </div>
        );
      case 'data-turn-dequeued':
        return null;
      case 'data-tool-approval-request': {
        // Clients before ai 6 get approvals as data parts; this app sends version 7, so only old logs show these.
        const data = dataOf(generic);
        const answered = loose.some((other) => other.type === 'data-tool-approval-response' && dataOf(other).approvalId === data.approvalId);
        return answered ? null : (
          <div key={index} className="notice turn-notice" data-notice="approval-request">
            {`${String(data.toolName ?? 'A tool')} waits for approval.`}
          </div>
        );
      }
      case 'data-tool-approval-response': {
        const data = dataOf(generic);
        return (
          <div key={index} className="notice turn-notice" data-notice="approval-response">
            {data.approved ? 'Tool call approved.' : `Tool call denied${data.reason ? `: ${String(data.reason)}` : '.'}`}
          </div>
        );
      }
      case 'data-awaiting-approval':
        return streaming ? (
          <div key={index} className="muted small notice">
            Waiting for your approval…
          </div>
        ) : null;
      case 'steering-message':
      case 'data-steering':
        return (
          <div key={index} className="steering">
            ↳ You added: {generic.type === 'steering-message' ? textOfSteering(generic) : String(dataOf(generic).text ?? '')}
          </div>
        );
      case 'step-start':
      case 'source-url':
      case 'source-document':
        return null;
      default:
        if (generic.type.startsWith('data-')) {
          return (
            <details key={index} className="data-part">
              <summary>{generic.type.slice('data-'.length)}</summary>
              <pre>{JSON.stringify(generic.data, null, 2)}</pre>
            </details>
          );
        }
        return null;
    }
  });
  // An answer that failed before it said anything is only the error banner below the messages.
  const metadata = message.metadata;
  if (!streaming && !content.some(Boolean) && sources.length === 0 && !metadata?.error && !metadata?.finishReason) return null;

  return (
    <div className="message assistant" data-message-id={message.id} data-streaming={streaming ? 'true' : 'false'}>
      {content}
      <Sources parts={sources} />
      {message.metadata?.error && !streaming && !loose.some((part) => part.type === 'data-error') && (
        <div className="answer-error" role="alert">
          The answer failed: {message.metadata.error}
        </div>
      )}
      <AnswerFooter metadata={message.metadata} streaming={streaming} />
    </div>
  );
}
