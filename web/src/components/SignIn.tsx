import { useState, type FormEvent } from 'react';
import { ApiClient, readableError } from '../api';

/** Sign-in with an API key (checked against the API before it is kept for this tab). */
export function SignIn({ onSignedIn, notice }: { onSignedIn(apiKey: string): void; notice?: string }) {
  const [apiKey, setApiKey] = useState('');
  const [checking, setChecking] = useState(false);
  const [error, setError] = useState<string | undefined>(notice);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const key = apiKey.trim();
    if (!key) return;
    setChecking(true);
    setError(undefined);
    try {
      await new ApiClient(key).verify();
      onSignedIn(key);
    } catch (failure) {
      setError(readableError(failure));
    } finally {
      setChecking(false);
    }
  }

  return (
    <main className="sign-in">
      <form className="sign-in-card" onSubmit={submit} aria-label="Sign in">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          durable-chat
        </div>
        <p className="muted">Every answer is a Temporal workflow: it survives reloads, crashes and restarts. Sign in with an API key of your workspace.</p>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="apiKey"
          type="password"
          autoComplete="off"
          placeholder="dc_…"
          value={apiKey}
          onChange={(event) => setApiKey(event.target.value)}
          autoFocus
        />
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={checking || !apiKey.trim()}>
          {checking ? 'Checking…' : 'Sign in'}
        </button>
        <p className="muted small">
          <code>npm start</code> prints a demo key. The key stays in this tab&apos;s session storage only.
        </p>
      </form>
    </main>
  );
}
