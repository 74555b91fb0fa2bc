/**
 * The signed-in API key. Kept in sessionStorage: it lives as long as the tab, survives a reload (so
 * a reload mid-answer resumes), and is never sent anywhere but this origin's `/api`.
 *
 * `npm start` prints a link with the key in the URL fragment (`/#key=…`); the fragment never reaches
 * a server, and the app moves it into sessionStorage and removes it from the address bar at once.
 */
const STORAGE_KEY = 'durable-chat.apiKey';

export function readApiKey(): string | undefined {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const fromLink = fragment.get('key');
  if (fromLink) {
    sessionStorage.setItem(STORAGE_KEY, fromLink);
    fragment.delete('key');
    const rest = fragment.toString();
    window.history.replaceState(window.history.state, '', `${window.location.pathname}${window.location.search}${rest ? `#${rest}` : ''}`);
  }
  return sessionStorage.getItem(STORAGE_KEY) ?? undefined;
}

export function storeApiKey(apiKey: string): void {
  sessionStorage.setItem(STORAGE_KEY, apiKey);
}

export function forgetApiKey(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}
