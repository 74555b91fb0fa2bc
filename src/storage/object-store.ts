/**
 * The object store: where generated images and attachments live. One small interface, two
 * implementations (the local filesystem for `npm start`, any S3-compatible service for
 * deployments), so everything above it is tested once and runs on either.
 *
 * Keys are `/`-separated paths such as `workspaces/<workspace>/generated-images/<id>.png`. They are
 * validated here, at the one boundary every implementation shares, so no key can climb out of its
 * root (`..`) or differ between the two implementations.
 */

export interface ObjectMetadata {
  contentType: string;
  /** Bytes. */
  size: number;
}

export interface StoredObject extends ObjectMetadata {
  body: Buffer;
}

export interface ObjectStore {
  /** Where objects go, for logs and the start banner (never a credential). */
  readonly description: string;
  /** Writes (or replaces) an object. */
  put(key: string, body: Buffer, options: { contentType: string }): Promise<void>;
  /** The object, or undefined when there is none under the key. */
  get(key: string): Promise<StoredObject | undefined>;
  /** Content type and size without the body, or undefined when there is no object. */
  head(key: string): Promise<ObjectMetadata | undefined>;
  /** Removes the object; removing a missing object is not an error. */
  delete(key: string): Promise<void>;
}

const segmentPattern = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

/** Thrown for a key that could escape its root or that one of the implementations could not store. */
export class InvalidObjectKeyError extends Error {}

/**
 * Checks a key: 1 to 16 segments of letters, digits, `_`, `-` and `.`, none starting with a dot
 * (so neither `..` nor hidden files), joined by single slashes.
 */
export function assertObjectKey(key: string): void {
  const segments = key.split('/');
  if (segments.length > 16 || !segments.every((segment) => segmentPattern.test(segment))) {
    throw new InvalidObjectKeyError(`Invalid object key "${key.slice(0, 200)}"`);
  }
}
