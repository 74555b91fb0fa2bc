/**
 * The app's two pages: `/` (a new chat) and `/c/<chat id>` (one conversation). Plain history API:
 * the API serves index.html for both, so a reload opens the same chat.
 */
import { useCallback, useEffect, useState } from 'react';

function chatIdOf(pathname: string): string | undefined {
  const match = /^\/c\/([^/]+)\/?$/.exec(pathname);
  return match ? decodeURIComponent(match[1]!) : undefined;
}

export function useChatRoute(): [string | undefined, (chatId: string | undefined, options?: { replace?: boolean }) => void] {
  const [chatId, setChatId] = useState(() => chatIdOf(window.location.pathname));
  useEffect(() => {
    const onPopState = () => setChatId(chatIdOf(window.location.pathname));
    window.addEventListener('popstate', onPopState);
    return () => window.removeEventListener('popstate', onPopState);
  }, []);
  const navigate = useCallback((next: string | undefined, options: { replace?: boolean } = {}) => {
    const path = next ? `/c/${encodeURIComponent(next)}` : '/';
    if (path !== window.location.pathname) {
      if (options.replace) window.history.replaceState(null, '', path);
      else window.history.pushState(null, '', path);
    }
    setChatId(next);
  }, []);
  return [chatId, navigate];
}

/** A fresh chat id: the API accepts letters, digits and `_ . : -`. */
export function newChatId(): string {
  return `chat-${crypto.randomUUID()}`;
}
