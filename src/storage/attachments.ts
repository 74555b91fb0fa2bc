/**
 * Files users attach to a message (`useChat`'s `sendMessage({ text, files })` sends each as a
 * `{ type: 'file', mediaType, filename?, url: 'data:…;base64,…' }` part).
 *
 * The API checks them against the limits before anything starts (`checkAttachments`: count and
 * size answer 413, type 415), then stores each in the object store under
 * `workspaces/{workspace_id}/attachments/{attachment_id}` and replaces its data URL by
 * `/api/attachments/{attachment_id}` (`storeAttachments`), so the message that travels through
 * Temporal and lands in Postgres holds a short reference, never the file (payloads are capped at
 * 2 MB). Ids come from the file's bytes: a duplicate request stores the same object again.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { AttachmentLimits } from '../config';
import type { MessagePart } from '../shared/messages';
import { workspacePrefix } from './object-keys';
import type { ObjectStore, StoredObject } from './object-store';

export const ATTACHMENTS_PATH = '/api/attachments';

const filePartSchema = z.object({
  type: z.literal('file'),
  mediaType: z.string().min(1).max(200),
  filename: z.string().max(500).optional(),
  url: z.string().min(1),
});

export type FilePart = z.infer<typeof filePartSchema>;

const attachmentIdPattern = /^[a-f0-9]{32}$/;
const dataUrlPattern = /^data:([^;,]*)((?:;[^;,]*)*?);base64,/i;

/** What `checkAttachments` accepted: per file part (by its index in the message), its bytes or an earlier upload's id. */
export type CheckedAttachment =
  | { partIndex: number; part: FilePart; kind: 'upload'; mediaType: string; body: Buffer }
  | { partIndex: number; part: FilePart; kind: 'reference'; attachmentId: string };

export interface AttachmentProblem {
  status: 400 | 413 | 415;
  code: string;
  message: string;
  field: string;
}

export type AttachmentCheck = { ok: true; attachments: CheckedAttachment[] } | { ok: false; problem: AttachmentProblem };

/** `text/*`-style wildcard match of a media type against the allowed list. */
export function isAllowedType(mediaType: string, allowed: readonly string[]): boolean {
  const type = mediaType.toLowerCase();
  return allowed.some((pattern) => (pattern.endsWith('/*') ? type.startsWith(pattern.slice(0, -1)) : type === pattern));
}

/** Text a model can read as it is: `text/*`, JSON, XML, YAML, scripts. */
export function isTextLike(mediaType: string): boolean {
  const type = mediaType.toLowerCase();
  return (
    type.startsWith('text/') ||
    /^application\/(json|xml|x-yaml|yaml|javascript|x-javascript|typescript|x-sh|x-python|sql|graphql|toml|x-toml|ndjson|x-ndjson)$/.test(type) ||
    type.endsWith('+json') ||
    type.endsWith('+xml')
  );
}

const imageSignatures: Record<string, (body: Buffer) => boolean> = {
  'image/png': (body) => body.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  'image/jpeg': (body) => body[0] === 0xff && body[1] === 0xd8 && body[2] === 0xff,
  'image/gif': (body) => body.subarray(0, 6).toString('latin1') === 'GIF87a' || body.subarray(0, 6).toString('latin1') === 'GIF89a',
  'image/webp': (body) => body.subarray(0, 4).toString('latin1') === 'RIFF' && body.subarray(8, 12).toString('latin1') === 'WEBP',
};

/** Whether the bytes are what the media type says, for the types a model reads (images, text). */
function contentMatchesType(mediaType: string, body: Buffer): boolean {
  const signature = imageSignatures[mediaType];
  if (signature) return signature(body);
  if (isTextLike(mediaType)) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(body);
      return true;
    } catch {
      return false;
    }
  }
  return true;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/**
 * Checks the file parts of a user message against the limits, decoding their data URLs; pure. The
 * first problem is returned as the 4xx to answer: 413 for too many or too large files, 415 for a
 * type that is not allowed or content that is not what its type says, 400 for a malformed part.
 */
export function checkAttachments(parts: readonly MessagePart[], limits: AttachmentLimits): AttachmentCheck {
  const fileParts = parts.flatMap((part, partIndex) => (part.type === 'file' ? [{ part, partIndex }] : []));
  if (fileParts.length > limits.maxCount) {
    return fail(413, 'too_many_attachments', `A message may carry at most ${limits.maxCount} files; this one has ${fileParts.length}.`, 'messages');
  }
  const attachments: CheckedAttachment[] = [];
  for (const { part: rawPart, partIndex } of fileParts) {
    const field = `messages.parts.${partIndex}`;
    const parsed = filePartSchema.safeParse(rawPart);
    if (!parsed.success) return fail(400, 'invalid_attachment', `${field}: a file part needs mediaType and url.`, field);
    const part = parsed.data;
    const name = part.filename ? `"${part.filename}"` : `#${partIndex}`;
    const mediaType = part.mediaType.toLowerCase().split(';')[0]!.trim();
    if (!isAllowedType(mediaType, limits.allowedTypes)) {
      return fail(415, 'unsupported_media_type', `File ${name} has type ${mediaType}, which is not accepted (allowed: ${limits.allowedTypes.join(', ')}).`, field);
    }
    if (part.url.startsWith(`${ATTACHMENTS_PATH}/`)) {
      const attachmentId = part.url.slice(ATTACHMENTS_PATH.length + 1);
      if (!attachmentIdPattern.test(attachmentId)) return fail(400, 'invalid_attachment', `${field}: unknown attachment URL.`, field);
      attachments.push({ partIndex, part, kind: 'reference', attachmentId });
      continue;
    }
    const header = dataUrlPattern.exec(part.url);
    if (!header) return fail(400, 'invalid_attachment', `${field}: the url must be a base64 data URL (or an attachment URL of this API).`, field);
    const dataType = header[1]!.toLowerCase();
    if (dataType && dataType !== mediaType && dataType !== 'application/octet-stream') {
      return fail(415, 'unsupported_media_type', `File ${name} says ${mediaType} but its data URL says ${dataType}.`, field);
    }
    const payload = part.url.slice(header[0].length);
    // Refuse by the encoded length before decoding anything large.
    if (Math.floor((payload.length * 3) / 4) - 2 > limits.maxBytes) {
      return fail(413, 'attachment_too_large', `File ${name} is larger than ${formatBytes(limits.maxBytes)}.`, field);
    }
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(payload)) return fail(400, 'invalid_attachment', `${field}: the data URL is not valid base64.`, field);
    const body = Buffer.from(payload, 'base64');
    if (body.length > limits.maxBytes) return fail(413, 'attachment_too_large', `File ${name} is larger than ${formatBytes(limits.maxBytes)}.`, field);
    if (body.length === 0) return fail(400, 'invalid_attachment', `File ${name} is empty.`, field);
    if (!contentMatchesType(mediaType, body)) return fail(415, 'unsupported_media_type', `File ${name} is not a valid ${mediaType} file.`, field);
    attachments.push({ partIndex, part, kind: 'upload', mediaType, body });
  }
  return { ok: true, attachments };
}

function fail(status: AttachmentProblem['status'], code: string, message: string, field: string): AttachmentCheck {
  return { ok: false, problem: { status, code, message, field } };
}

/** Thrown when a message refers to an attachment its workspace does not have. */
export class UnknownAttachmentError extends Error {}

export class Attachments {
  constructor(private readonly store: ObjectStore) {}

  private key(workspaceId: string, attachmentId: string): string {
    return `${workspacePrefix(workspaceId)}/attachments/${attachmentId}`;
  }

  /**
   * Stores the checked files of a message and returns its parts with each data URL replaced by the
   * attachment URL (`{ type, mediaType, filename?, url }`, as AI SDK clients read file parts).
   * References to earlier uploads must exist in the workspace.
   */
  async storeMessageFiles(workspaceId: string, parts: readonly MessagePart[], checked: readonly CheckedAttachment[]): Promise<MessagePart[]> {
    const stored = [...parts];
    for (const attachment of checked) {
      let attachmentId: string;
      let mediaType = attachment.part.mediaType.toLowerCase();
      if (attachment.kind === 'reference') {
        attachmentId = attachment.attachmentId;
        const existing = await this.store.head(this.key(workspaceId, attachmentId));
        if (!existing) throw new UnknownAttachmentError(`Attachment ${attachmentId} not found.`);
        mediaType = existing.contentType;
      } else {
        attachmentId = createHash('sha256').update(attachment.body).digest('hex').slice(0, 32);
        mediaType = attachment.mediaType;
        await this.store.put(this.key(workspaceId, attachmentId), attachment.body, { contentType: mediaType });
      }
      stored[attachment.partIndex] = {
        type: 'file',
        mediaType,
        ...(attachment.part.filename !== undefined ? { filename: attachment.part.filename } : {}),
        url: `${ATTACHMENTS_PATH}/${attachmentId}`,
      };
    }
    return stored;
  }

  /** The attachment of this workspace with this id, or undefined (also for another workspace's). */
  async find(workspaceId: string, attachmentId: string): Promise<StoredObject | undefined> {
    if (!attachmentIdPattern.test(attachmentId)) return undefined;
    return this.store.get(this.key(workspaceId, attachmentId));
  }

  /** The attachment a stored file part's URL names, or undefined when the URL is not one of ours or is gone. */
  async read(workspaceId: string, url: string): Promise<StoredObject | undefined> {
    if (!url.startsWith(`${ATTACHMENTS_PATH}/`)) return undefined;
    return this.find(workspaceId, url.slice(ATTACHMENTS_PATH.length + 1));
  }
}

export { formatBytes };
