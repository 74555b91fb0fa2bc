/** Object keys shared by generated images and attachments: everything of a workspace lives under `workspaces/<id>/`. */
import { createHash } from 'node:crypto';

const safeSegment = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/;

/**
 * `workspaces/<workspace id>`; an id with characters a key segment cannot hold is written with them
 * replaced and a hash of the original appended, so two ids never share a prefix.
 */
export function workspacePrefix(workspaceId: string): string {
  if (safeSegment.test(workspaceId)) return `workspaces/${workspaceId}`;
  const readable = workspaceId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 60);
  const hash = createHash('sha256').update(workspaceId).digest('hex').slice(0, 16);
  return `workspaces/${readable}-${hash}`;
}
