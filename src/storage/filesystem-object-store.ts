/**
 * Objects as files under a root directory (`.data/objects` for `npm start`): the body at
 * `<root>/objects/<key>`, its content type at `<root>/metadata/<key>.json`. Writes go to a
 * temporary file that is renamed into place, so a reader never sees half an object.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { assertObjectKey, type ObjectMetadata, type ObjectStore, type StoredObject } from './object-store';

const FALLBACK_CONTENT_TYPE = 'application/octet-stream';

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

export class FilesystemObjectStore implements ObjectStore {
  readonly description: string;

  constructor(private readonly root: string) {
    this.description = `filesystem ${root}`;
  }

  private bodyPath(key: string): string {
    assertObjectKey(key);
    return path.join(this.root, 'objects', ...key.split('/'));
  }

  private metadataPath(key: string): string {
    return path.join(this.root, 'metadata', ...`${key}.json`.split('/'));
  }

  private async writeAtomically(file: string, data: Buffer | string): Promise<void> {
    await mkdir(path.dirname(file), { recursive: true });
    const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${randomUUID()}.tmp`);
    try {
      await writeFile(temporary, data);
      await rename(temporary, file);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  private async readContentType(key: string): Promise<string> {
    try {
      const parsed = JSON.parse(await readFile(this.metadataPath(key), 'utf8')) as { contentType?: unknown };
      return typeof parsed.contentType === 'string' ? parsed.contentType : FALLBACK_CONTENT_TYPE;
    } catch (error) {
      if (isMissing(error)) return FALLBACK_CONTENT_TYPE;
      throw error;
    }
  }

  async put(key: string, body: Buffer, options: { contentType: string }): Promise<void> {
    const file = this.bodyPath(key);
    // Metadata first: once the body is in place, its content type is too.
    await this.writeAtomically(this.metadataPath(key), JSON.stringify({ contentType: options.contentType }));
    await this.writeAtomically(file, body);
  }

  async get(key: string): Promise<StoredObject | undefined> {
    let body: Buffer;
    try {
      body = await readFile(this.bodyPath(key));
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    return { body, size: body.length, contentType: await this.readContentType(key) };
  }

  async head(key: string): Promise<ObjectMetadata | undefined> {
    try {
      const { size } = await stat(this.bodyPath(key));
      return { size, contentType: await this.readContentType(key) };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.bodyPath(key), { force: true });
    await rm(this.metadataPath(key), { force: true });
  }
}
