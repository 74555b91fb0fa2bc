/** JSON calls to the API with a key, for the management tests: status and parsed body. */

// Bodies are whatever the API sent; the tests check them with expect(), so they read them freely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface ApiAnswer<Body = any> {
  status: number;
  body: Body;
  /** The raw body text (secrets canary tests search it). */
  text: string;
}

export function apiClient(apiUrl: string, apiKey: string) {
  const call = async (method: string, path: string, body?: unknown): Promise<ApiAnswer> => {
    const response = await fetch(`${apiUrl}/api${path}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: response.status, body: parsed, text };
  };
  return {
    get: (path: string) => call('GET', path),
    post: (path: string, body: unknown) => call('POST', path, body),
    put: (path: string, body: unknown) => call('PUT', path, body),
    patch: (path: string, body: unknown) => call('PATCH', path, body),
    delete: (path: string) => call('DELETE', path),
  };
}

export type ApiClient = ReturnType<typeof apiClient>;
