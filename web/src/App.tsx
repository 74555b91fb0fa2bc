/**
 * The chat app: sign-in, the conversation list, the agent picker and one conversation at a time.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ApiClient, ApiError, readableError, type Agent, type Conversation } from './api';
import { ChatView } from './components/ChatView';
import { ApiClientContext } from './context';
import { Sidebar } from './components/Sidebar';
import { SignIn } from './components/SignIn';
import { newChatId, useChatRoute } from './route';
import { forgetApiKey, readApiKey, storeApiKey } from './session';

const AGENT_STORAGE_KEY = 'durable-chat.agentId';

export function App() {
  const [apiKey, setApiKey] = useState(() => readApiKey());
  const [notice, setNotice] = useState<string>();
  if (!apiKey) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(key) => {
          storeApiKey(key);
          setNotice(undefined);
          setApiKey(key);
        }}
      />
    );
  }
  return (
    <ChatApp
      apiKey={apiKey}
      onSignOut={(reason) => {
        forgetApiKey();
        setNotice(reason);
        setApiKey(undefined);
      }}
    />
  );
}

function sleep(milliseconds: number) {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

function ChatApp({ apiKey, onSignOut }: { apiKey: string; onSignOut(reason?: string): void }) {
  const client = useMemo(() => new ApiClient(apiKey), [apiKey]);
  const [routeChatId, navigate] = useChatRoute();
  const [draftChatId, setDraftChatId] = useState(newChatId);
  const chatId = routeChatId ?? draftChatId;
  const [conversations, setConversations] = useState<Conversation[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [listError, setListError] = useState<string>();
  const [agents, setAgents] = useState<Agent[]>([]);
  const [agentId, setAgentId] = useState<string | undefined>(() => sessionStorage.getItem(AGENT_STORAGE_KEY) ?? undefined);
  const conversationsRef = useRef(conversations);
  conversationsRef.current = conversations;

  const onFailure = useCallback(
    (error: unknown) => {
      if (error instanceof ApiError && error.status === 401) onSignOut('Your API key was not accepted. Sign in again.');
      return readableError(error);
    },
    [onSignOut],
  );

  const refreshConversations = useCallback(async () => {
    try {
      const page = await client.listConversations();
      setConversations((current) => {
        if (!page.nextCursor) return page.conversations; // the first page is all there is
        // Keep the older pages already loaded: everything past the end of the fresh first page.
        const fresh = new Set(page.conversations.map((conversation) => conversation.id));
        const boundary = page.conversations.at(-1)!.lastActivityAt;
        return [...page.conversations, ...current.filter((conversation) => !fresh.has(conversation.id) && conversation.lastActivityAt < boundary)];
      });
      setNextCursor((current) => current ?? page.nextCursor);
      setListError(undefined);
    } catch (error) {
      setListError(onFailure(error));
    }
  }, [client, onFailure]);

  const loadMore = useCallback(async () => {
    if (!nextCursor) return;
    try {
      const page = await client.listConversations(nextCursor);
      setConversations((current) => [...current, ...page.conversations.filter((conversation) => !current.some((known) => known.id === conversation.id))]);
      setNextCursor(page.nextCursor);
    } catch (error) {
      setListError(onFailure(error));
    }
  }, [client, nextCursor, onFailure]);

  useEffect(() => {
    void refreshConversations();
    client.listAgents().then(
      (list) => {
        setAgents(list);
        setAgentId((current) => (current && list.some((agent) => agent.id === current) ? current : (list.find((agent) => agent.isDefault) ?? list[0])?.id));
      },
      (error) => setListError(onFailure(error)),
    );
  }, [client, refreshConversations, onFailure]);

  useEffect(() => {
    if (agentId) sessionStorage.setItem(AGENT_STORAGE_KEY, agentId);
  }, [agentId]);

  /** After an answer: the list moves the chat up, and its generated title arrives shortly after. */
  const onTurnFinished = useCallback(
    async (finishedChatId: string) => {
      for (let attempt = 0; attempt < 6; attempt++) {
        await refreshConversations();
        const conversation = conversationsRef.current.find((known) => known.id === finishedChatId);
        if (conversation && conversation.titleSource !== 'message') return;
        await sleep(500 * (attempt + 1));
      }
    },
    [refreshConversations],
  );

  const startNewChat = useCallback(() => {
    setDraftChatId(newChatId());
    navigate(undefined);
  }, [navigate]);

  const current = conversations.find((conversation) => conversation.id === chatId);

  return (
    <ApiClientContext.Provider value={client}>
      <div className="app">
        <Sidebar
          conversations={conversations}
          activeChatId={chatId}
          hasMore={nextCursor !== null}
          error={listError}
          onSelect={(id) => navigate(id)}
          onNewChat={startNewChat}
          onLoadMore={loadMore}
          onRename={async (id, title) => {
            try {
              const { conversation } = await client.renameConversation(id, title);
              setConversations((list) => list.map((known) => (known.id === id ? conversation : known)));
            } catch (error) {
              setListError(onFailure(error));
            }
          }}
          onDelete={async (id) => {
            try {
              await client.deleteConversation(id);
              setConversations((list) => list.filter((known) => known.id !== id));
              if (id === chatId) startNewChat();
            } catch (error) {
              setListError(onFailure(error));
            }
          }}
          onSignOut={() => onSignOut()}
        />
        <main className="main">
          <header className="chat-header">
            <h1 className="chat-title" title={current?.title}>
              {current?.title ?? 'New chat'}
            </h1>
            <label className="agent-picker">
              <span>Agent</span>
              <select aria-label="Agent" value={agentId ?? ''} onChange={(event) => setAgentId(event.target.value || undefined)} disabled={agents.length === 0}>
                {agents.length === 0 && <option value="">Workspace default</option>}
                {agents.map((agent) => (
                  <option key={agent.id} value={agent.id}>
                    {agent.name}
                    {agent.model ? ` · ${agent.model}` : ''}
                  </option>
                ))}
              </select>
            </label>
          </header>
          <ChatView
            key={chatId}
            chatId={chatId}
            isDraft={routeChatId === undefined}
            client={client}
            agentId={agentId}
            onFailure={onFailure}
            onFirstMessage={() => navigate(chatId, { replace: true })}
            onTurnStarted={() => void refreshConversations()}
            onAgentOfConversation={(answeredBy) => setAgentId((current) => (agents.length === 0 || agents.some((agent) => agent.id === answeredBy) ? answeredBy : current))}
            onTurnFinished={() => void onTurnFinished(chatId)}
          />
        </main>
      </div>
    </ApiClientContext.Provider>
  );
}
