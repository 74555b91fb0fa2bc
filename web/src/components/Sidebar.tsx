import { useState } from 'react';
import type { Conversation } from '../api';
import { PencilIcon, TrashIcon } from './Icons';

interface SidebarProps {
  conversations: Conversation[];
  activeChatId: string;
  hasMore: boolean;
  error?: string;
  onSelect(chatId: string): void;
  onNewChat(): void;
  onLoadMore(): void;
  onRename(chatId: string, title: string): Promise<void>;
  onDelete(chatId: string): Promise<void>;
  onSignOut(): void;
}

function relativeTime(iso: string): string {
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

/** The conversation list (newest activity first), new chat, rename, delete and sign out. */
export function Sidebar(props: SidebarProps) {
  const [editing, setEditing] = useState<string>();
  const [draftTitle, setDraftTitle] = useState('');

  return (
    <nav className="sidebar" aria-label="Conversations">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true" />
        durable-chat
      </div>
      <button type="button" className="new-chat" onClick={props.onNewChat}>
        + New chat
      </button>
      {props.error && (
        <p className="sidebar-error" role="alert">
          {props.error}
        </p>
      )}
      <ul className="conversation-list">
        {props.conversations.map((conversation) => (
          <li
            key={conversation.id}
            className={`conversation-item${conversation.id === props.activeChatId ? ' active' : ''}`}
            data-chat-id={conversation.id}
            data-title-source={conversation.titleSource}
          >
            {editing === conversation.id ? (
              <form
                className="rename-form"
                onSubmit={(event) => {
                  event.preventDefault();
                  const title = draftTitle.trim();
                  setEditing(undefined);
                  if (title && title !== conversation.title) void props.onRename(conversation.id, title);
                }}
              >
                <input aria-label="New title" value={draftTitle} onChange={(event) => setDraftTitle(event.target.value)} autoFocus onBlur={() => setEditing(undefined)} maxLength={200} />
              </form>
            ) : (
              <>
                <button type="button" className="conversation-link" onClick={() => props.onSelect(conversation.id)} title={conversation.title}>
                  <span className="conversation-title">{conversation.title || 'Untitled'}</span>
                  <span className="conversation-time">{relativeTime(conversation.lastActivityAt)}</span>
                </button>
                <span className="conversation-actions">
                  <button
                    type="button"
                    className="icon"
                    aria-label={`Rename ${conversation.title}`}
                    title="Rename"
                    onClick={() => {
                      setDraftTitle(conversation.title);
                      setEditing(conversation.id);
                    }}
                  >
                    <PencilIcon />
                  </button>
                  <button
                    type="button"
                    className="icon"
                    aria-label={`Delete ${conversation.title}`}
                    title="Delete"
                    onClick={() => {
                      if (window.confirm(`Delete “${conversation.title}” with its messages and memories?`)) void props.onDelete(conversation.id);
                    }}
                  >
                    <TrashIcon />
                  </button>
                </span>
              </>
            )}
          </li>
        ))}
      </ul>
      {props.hasMore && (
        <button type="button" className="load-more" onClick={props.onLoadMore}>
          Load older conversations
        </button>
      )}
      {props.conversations.length === 0 && !props.error && <p className="muted small empty-list">No conversations yet.</p>}
      <button type="button" className="sign-out" onClick={props.onSignOut}>
        Sign out
      </button>
    </nav>
  );
}
