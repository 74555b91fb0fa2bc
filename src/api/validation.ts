/** The first problem zod found in a request part, as the `field` and `message` of a 400 answer. */
import type { z } from 'zod';

export function describeIssue(error: z.ZodError, fallbackField: string): { field: string; message: string } {
  const issue = error.issues[0]!;
  const field = issue.path.join('.') || fallbackField;
  return { field, message: `${field}: ${issue.message}` };
}
