/**
 * Keyset pagination for the management lists: a page is `{ data, nextCursor }`; the cursor is the
 * sort key of the last row, opaque to clients (base64url JSON), so pages stay stable while rows are
 * added or removed, and a page costs an index range scan however deep it is.
 */

export interface Page<T> {
  data: T[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export interface PageRequest {
  limit: number;
  cursor?: string;
}

export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** The sort key of a cursor, or undefined when it is not one this API issued. */
export function decodeCursor(cursor: string, length: number): Array<string | number> | undefined {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(key) && key.length === length && key.every((part) => typeof part === 'string' || typeof part === 'number')) return key;
  } catch {
    // Not base64url JSON: not ours.
  }
  return undefined;
}

/** Cuts the one extra row a query fetched into the next cursor. */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => Array<string | number>): Page<T> {
  const data = rows.slice(0, limit);
  return { data, nextCursor: rows.length > limit && data.length > 0 ? encodeCursor(keyOf(data.at(-1)!)) : null };
}

/** True for Postgres' unique-violation error (SQLSTATE 23505), optionally of one constraint. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const candidate = error as { code?: string; constraint?: string };
  return candidate?.code === '23505' && (constraint === undefined || candidate.constraint === constraint);
}

/** True for Postgres' foreign-key-violation error (SQLSTATE 23503). */
export function isForeignKeyViolation(error: unknown): boolean {
  return (error as { code?: string })?.code === '23503';
}
