/**
 * One conversation: its stored messages become `useChat`'s initial messages, and a turn still
 * answering is resumed (`resume: true` replays its stream from the start, then follows it live).
 */
import { useChat } from '@ai-sdk/react';
import { DefaultChatTransport, lastAssistantMessageIsCompleteWithApprovalResponses, type FileUIPart } from 'ai';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, authHeaders, readableError, type ApiClient, type ChatMessage } from '../api';
import { Composer } from './Composer';
import { MessageView } from './MessageView';

interface ChatViewProps {
  chatId: string;
  /** A chat that has no message yet: nothing to load. */
  isDraft: boolean;
  client: ApiClient;
  agentId?: string;
  onFailure(error: unknown): string;
  onFirstMessage(): void;
  /** The answer started streaming: the conversation exists on the server now. */
  onTurnStarted(): void;
  onTurnFinished(): void;
  /** A stored conversation opened: the agent that answered it last, to continue with it. */
  onAgentOfConversation(agentId: string): void;
}

type LoadState = { status: 'loading' } | { status: 'ready'; messages: ChatMessage[]; running: boolean } | { status: 'failed'; message: string };

export function ChatView(props: ChatViewProps) {
  const { chatId, isDraft, client, onFailure } = props;
  const [state, setState] = useState<LoadState>(isDraft ? { status: 'ready', messages: [], running: false } : { status: 'loading' });

  useEffect(() => {
    if (isDraft) return;
    let cancelled = false;
    client.getConversation(chatId).then(
      (answer) => {
        if (cancelled) return;
        const agentId = [...answer.messages].reverse().find((message) => message.metadata?.agentId)?.metadata?.agentId;
        if (agentId) props.onAgentOfConversation(agentId);
        setState({ status: 'ready', messages: answer.messages, running: answer.running });
      },
      (error) => {
        if (cancelled) return;
        if (error instanceof ApiError && error.status === 404) setState({ status: 'ready', messages: [], running: false });
        else setState({ status: 'failed', message: onFailure(error) });
      },
    );
    return () => {
      cancelled = true;
    };
    // Loaded once per chat: the view is keyed by chat id, and a draft that becomes a chat keeps its state.
  }, []);

  if (state.status === 'loading') return <div className="chat-placeholder muted">Loading the conversation…</div>;
  if (state.status === 'failed')
    return (
      <div className="chat-placeholder" role="alert">
        {state.message}
      </div>
    );
  return <Conversation {...props} initialMessages={state.messages} running={state.running} />;
}

/** A file as the `file` part of a message: its bytes as a data URL (the server may store them elsewhere). */
function toFilePart(file: File): Promise<FileUIPart> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve({ type: 'file', mediaType: file.type || 'application/octet-stream', filename: file.name, url: String(reader.result) });
    reader.onerror = () => reject(reader.error ?? new Error(`${file.name} could not be read`));
    reader.readAsDataURL(file);
  });
}

/** The ids of the steering messages the answers show (the conversation also stores each as a user message). */
function steeringIdsOf(messages: readonly ChatMessage[]): Set<string> {
  const ids = new Set<string>();
  for (const message of messages) {
    if (message.role !== 'assistant') continue;
    for (const part of message.parts as unknown as Array<{ type: string; id?: unknown; data?: { id?: unknown } }>) {
      if (part.type === 'steering-message' && typeof part.id === 'string') ids.add(part.id);
      if (part.type === 'data-steering') {
        if (typeof part.data?.id === 'string') ids.add(part.data.id);
        if (typeof part.id === 'string') ids.add(part.id);
      }
    }
  }
  return ids;
}

function sleep(milliseconds: number) {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

const EXAMPLES = [
  'Tell me something long about durable execution',
  'Write a Markdown table of three planets and their moons',
  'What can you do for me?',
];

function Conversation(props: ChatViewProps & { initialMessages: ChatMessage[]; running: boolean }) {
  const { chatId, client, onFailure } = props;
  const agentRef = useRef(props.agentId);
  agentRef.current = props.agentId;
  const callbacks = useRef(props);
  callbacks.current = props;

  const transport = useMemo(
    () =>
      new DefaultChatTransport<ChatMessage>({
        api: '/api/chat',
        headers: () => authHeaders(client.apiKey),
        body: () => (agentRef.current ? { agentId: agentRef.current } : {}),
        // The server keeps the conversation: only the new message travels.
        prepareSendMessagesRequest: ({ id, messages, body, trigger, messageId }) => ({
          body: { ...body, id, messages: messages.slice(-1), trigger, ...(messageId ? { messageId } : {}) },
        }),
      }),
    [client],
  );

  const { messages, sendMessage, status, error, clearError, stop, setMessages, addToolApprovalResponse, resumeStream } = useChat<ChatMessage>({
    id: chatId,
    messages: props.initialMessages,
    resume: props.running,
    transport,
    // An approval answer travels with the chat's next request: the server gives it to the waiting
    // turn and streams the rest of the answer into the same message.
    sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithApprovalResponses,
    throttle: 40,
    onFinish: ({ message, isError }) => {
      callbacks.current.onTurnFinished();
      if (!isError) void loadCost(message.id);
    },
  });

  /**
   * The conversation said a turn answers its last message, but the resume found no stream yet (204:
   * a turn queued or just started has logged nothing so far): try again for a while.
   */
  const resumeAttempts = useRef(props.running ? 0 : Infinity);
  useEffect(() => {
    if (status !== 'ready' || messages.at(-1)?.role !== 'user' || resumeAttempts.current >= 8) return;
    const attempt = ++resumeAttempts.current;
    const timer = setTimeout(() => void resumeStream(), 400 * attempt);
    return () => clearTimeout(timer);
  }, [status, messages, resumeStream]);

  const [notice, setNotice] = useState<string>();
  const [stopping, setStopping] = useState(false);
  const statusRef = useRef(status);
  statusRef.current = status;
  const busy = status === 'submitted' || status === 'streaming';
  // The stream of a turn waiting for an approval has ended, but the turn runs: the composer steers it
  // (a new message would queue behind the approval), and Stop cancels it.
  const lastParts = (messages.at(-1)?.role === 'assistant' ? messages.at(-1)!.parts : []) as Array<{ state?: string }>;
  const awaitingApproval = !busy && lastParts.some((part) => part.state === 'approval-requested');
  const awaitingRef = useRef(awaitingApproval);
  awaitingRef.current = awaitingApproval;
  useEffect(() => {
    if (status === 'streaming') callbacks.current.onTurnStarted();
  }, [status]);

  /**
   * Once the answer is stored: its cost (computed from the turn's usage rows) is merged into its
   * metadata. When the conversation holds messages this page never saw (another tab's message, an
   * answer this page was queued behind), the stored conversation replaces the page's.
   */
  const loadCost = useCallback(
    async (messageId: string) => {
      try {
        const storedMessages = (await client.getConversation(chatId)).messages;
        if (statusRef.current === 'submitted' || statusRef.current === 'streaming') return;
        const stored = storedMessages.find((message) => message.id === messageId)?.metadata;
        setMessages((current) => {
          const shown = new Set(current.map((message) => message.id));
          const unseen = storedMessages.some((message) => !shown.has(message.id) && !(message.role === 'user' && steeringIdsOf(current).has(message.id)));
          if (unseen && storedMessages.some((message) => message.id === messageId)) return storedMessages;
          if (stored?.costUsd === undefined) return current;
          return current.map((message) => (message.id === messageId ? { ...message, metadata: { ...stored, ...message.metadata, costUsd: stored.costUsd } } : message));
        });
      } catch {
        // Cost is a detail: the answer itself is complete.
      }
    },
    [chatId, client, setMessages],
  );

  /** Stop for real: the turn is cancelled on the server and the stream ends with the partial answer kept. */
  const stopGenerating = useCallback(async () => {
    setStopping(true);
    try {
      if (awaitingRef.current) {
        // No stream to end: the turn waits in its workflow. Once it stored its cancelled answer, show that.
        await client.stopTurn(chatId);
        for (let attempt = 0; attempt < 20; attempt++) {
          const stored = await client.getConversation(chatId);
          if (!stored.running && stored.messages.at(-1)?.role === 'assistant') {
            setMessages(stored.messages);
            break;
          }
          await sleep(250);
        }
        return;
      }
      for (let attempt = 0; attempt < 20 && (statusRef.current === 'submitted' || statusRef.current === 'streaming'); attempt++) {
        const answer = await client.stopTurn(chatId);
        if (answer.stopped) break;
        await sleep(250); // the turn may not be registered yet right after the message was sent
      }
      for (let waited = 0; waited < 10_000 && (statusRef.current === 'submitted' || statusRef.current === 'streaming'); waited += 200) await sleep(200);
      if (statusRef.current === 'submitted' || statusRef.current === 'streaming') await stop();
    } catch (failure) {
      setNotice(onFailure(failure));
      await stop();
    } finally {
      setStopping(false);
    }
  }, [chatId, client, onFailure, stop, setMessages]);

  const answerApproval = useCallback(
    async (approvalId: string, approved: boolean, reason?: string) => {
      try {
        await addToolApprovalResponse({ id: approvalId, approved, ...(reason ? { reason } : {}) });
      } catch (failure) {
        setNotice(onFailure(failure));
      }
    },
    [addToolApprovalResponse, onFailure],
  );

  const sendRef = useRef<(text: string, files: File[]) => Promise<void>>(async () => {});
  const steer = useCallback(
    async (text: string) => {
      try {
        await client.steer(chatId, text);
        return true;
      } catch (failure) {
        if (failure instanceof ApiError && failure.code === 'turn_not_running') {
          // Too late to steer: the answer is finishing. Sent as the next message once it is done.
          for (let waited = 0; waited < 15_000 && (statusRef.current === 'submitted' || statusRef.current === 'streaming'); waited += 100) await sleep(100);
          await sendRef.current(text, []);
          return true;
        }
        setNotice(failure instanceof ApiError && failure.code === 'not_found' ? 'This server cannot steer a running answer yet: wait for it, or stop it.' : onFailure(failure));
        return false;
      }
    },
    [chatId, client, onFailure],
  );

  const send = useCallback(
    async (text: string, files: File[]) => {
      setNotice(undefined);
      const parts = await Promise.all(files.map(toFilePart));
      if (messages.length === 0) callbacks.current.onFirstMessage();
      await sendMessage({ text, ...(parts.length > 0 ? { files: parts } : {}) });
    },
    [messages.length, sendMessage],
  );
  sendRef.current = send;

  // A steering message is stored as a user message and shown inside the answer that read it: shown once, there.
  const steeringIds = useMemo(() => steeringIdsOf(messages), [messages]);

  const scroller = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  useEffect(() => {
    const element = scroller.current;
    if (element && pinned.current) element.scrollTop = element.scrollHeight;
  }, [messages]);

  const lastMessage = messages.at(-1);
  return (
    <>
      <div
        className="messages"
        ref={scroller}
        onScroll={(event) => {
          const element = event.currentTarget;
          pinned.current = element.scrollHeight - element.scrollTop - element.clientHeight < 80;
        }}
        data-status={status}
      >
        {messages.length === 0 && !busy && (
          <div className="welcome">
            <h2>What can I help with?</h2>
            <p className="muted">Answers stream token by token and survive reloads, stops and worker crashes.</p>
            <div className="examples">
              {EXAMPLES.map((example) => (
                <button key={example} type="button" className="example" onClick={() => void send(example, [])}>
                  {example}
                </button>
              ))}
            </div>
          </div>
        )}
        {messages.filter((message) => message.role !== 'user' || !steeringIds.has(message.id)).map((message) => (
          <MessageView key={message.id} message={message} streaming={busy && message === lastMessage && message.role === 'assistant'} onApproval={answerApproval} />
        ))}
        {status === 'submitted' && lastMessage?.role === 'user' && (
          <div className="message assistant pending" aria-label="Waiting for the answer">
            <span className="typing" aria-hidden="true">
              <i />
              <i />
              <i />
            </span>
          </div>
        )}
        {(error || notice) && (
          <div className="chat-error" role="alert">
            <span>{error ? readableError(error) : notice}</span>
            <button
              type="button"
              className="link"
              onClick={() => {
                clearError();
                setNotice(undefined);
              }}
            >
              Dismiss
            </button>
          </div>
        )}
      </div>
      <Composer busy={busy || awaitingApproval} stopping={stopping} onSend={send} onStop={stopGenerating} onSteer={steer} />
    </>
  );
}
