/**
 * Images the model (or a tool) produced inline, kept in the object store under
 * `workspaces/{workspace_id}/generated-images/{image_id}.{ext}` and served by
 * `GET /api/generated-images/{image_id}` to that workspace only.
 *
 * The id is derived from the image bytes (SHA-256), so a retried hop or tool call that produces the
 * same image writes the same object and yields the same URL: uploading is idempotent.
 */
import { createHash } from 'node:crypto';
import type { InlineImage, InlineImageRewriterOptions } from './inline-images';
import { workspacePrefix } from './object-keys';
import type { ObjectStore, StoredObject } from './object-store';

/** Media types stored as generated images, with the extension of their key. */
export const GENERATED_IMAGE_TYPES: Readonly<Record<string, string>> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/jpg': 'jpg',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'image/avif': 'avif',
  'image/svg+xml': 'svg',
};

const EXTENSION_TYPES: ReadonlyArray<[string, string]> = [
  ['png', 'image/png'],
  ['jpg', 'image/jpeg'],
  ['webp', 'image/webp'],
  ['gif', 'image/gif'],
  ['avif', 'image/avif'],
  ['svg', 'image/svg+xml'],
];

const imageIdPattern = /^[a-f0-9]{32}$/;

export const GENERATED_IMAGES_PATH = '/api/generated-images';

/** Thrown when an inline image cannot be stored (unknown type, bad payload, too large). */
export class UnstorableImageError extends Error {}

export interface GeneratedImageOptions {
  /** Largest decoded image stored; a larger one stays inline. */
  maxBytes: number;
}

export class GeneratedImages {
  constructor(
    private readonly store: ObjectStore,
    private readonly options: GeneratedImageOptions,
  ) {}

  /** Base64 characters of the largest image accepted: the scanner releases longer payloads unread. */
  get maxBase64Chars(): number {
    return Math.ceil(this.options.maxBytes / 3) * 4;
  }

  private key(workspaceId: string, imageId: string, extension: string): string {
    return `${workspacePrefix(workspaceId)}/generated-images/${imageId}.${extension}`;
  }

  /** Stores the image for the workspace and returns its URL. */
  async upload(workspaceId: string, image: InlineImage): Promise<string> {
    const extension = GENERATED_IMAGE_TYPES[image.mediaType];
    if (!extension) throw new UnstorableImageError(`Unsupported image type ${image.mediaType}`);
    const body = Buffer.from(image.base64, 'base64');
    if (body.length === 0) throw new UnstorableImageError('Empty image');
    if (body.length > this.options.maxBytes) throw new UnstorableImageError(`Image of ${body.length} bytes exceeds ${this.options.maxBytes}`);
    const imageId = createHash('sha256').update(body).digest('hex').slice(0, 32);
    const contentType = image.mediaType === 'image/jpg' ? 'image/jpeg' : image.mediaType;
    await this.store.put(this.key(workspaceId, imageId, extension), body, { contentType });
    return `${GENERATED_IMAGES_PATH}/${imageId}`;
  }

  /** The image of this workspace with this id, or undefined (also for another workspace's image). */
  async find(workspaceId: string, imageId: string): Promise<StoredObject | undefined> {
    if (!imageIdPattern.test(imageId)) return undefined;
    for (const [extension] of EXTENSION_TYPES) {
      const found = await this.store.get(this.key(workspaceId, imageId, extension));
      if (found) return found;
    }
    return undefined;
  }

  /** The rewriter options that upload into this workspace and log a failure as a warning. */
  rewriterOptions(workspaceId: string, onUploadFailed: (error: unknown, image: InlineImage) => void): InlineImageRewriterOptions {
    return { maxBase64Chars: this.maxBase64Chars, upload: (image) => this.upload(workspaceId, image), onUploadFailed };
  }
}
