/**
 * Finds inline Markdown images with data URLs (`![alt](data:image/png;base64,…)`) in streamed text
 * so they can be uploaded and replaced by URLs before the text is published and stored.
 *
 * The scanner is pure and incremental, and holds back only what the rewrite will change. `![alt](`
 * reads the same before and after the rewrite, so it goes out at once; from the `data:` that follows,
 * text is held until the image closes (then it comes out as one image segment, to be replaced by
 * `<url>)`) or stops looking like an inline data image (then it comes out unchanged). So ordinary
 * text is never delayed (`Hello!` goes out with its `!`), `![x](https://…)` waits for at most one
 * character, and a delta without `!` costs one `indexOf`.
 *
 * The rewriter on top of it takes the upload as an injected function, so the same transform serves
 * the LLM activity's delta path, tool results and tests. A failed upload keeps the base64 (the
 * answer still shows the image) and is reported through `onUploadFailed`.
 */

export interface InlineImage {
  alt: string;
  /** e.g. `image/png` (lower case). */
  mediaType: string;
  /** The base64 payload exactly as written. */
  base64: string;
}

/**
 * Scanner output in stream order. An image segment stands for the held tail of a Markdown image,
 * `data:…)`: `original` puts it back unchanged, `<url>)` replaces it (the `![alt](` before it has
 * already gone out as text).
 */
export type InlineImageSegment = { kind: 'text'; text: string } | { kind: 'image'; image: InlineImage; original: string };

export interface InlineImageScannerOptions {
  /** Longest base64 payload treated as an image; beyond it the text passes through unchanged. */
  maxBase64Chars: number;
}

const MAX_ALT_CHARS = 300;
const MAX_SUBTYPE_CHARS = 64;
const MAX_PARAMETER_CHARS = 200;
const SCHEME = 'data:image/';
const base64Run = /[A-Za-z0-9+/=]*/y;
const subtypeCharacter = /[a-z0-9.+-]/;
const parameterPattern = /^[a-z0-9-]+=[^;,()\s]*$/;
const base64Pattern = /^[A-Za-z0-9+/]+={0,2}$/;

type Step = 'more' | 'fail' | 'done';

type Phase = 'bang' | 'bracket' | 'alt' | 'paren' | 'scheme' | 'subtype' | 'parameter' | 'data';

/** Phases whose characters read the same after the rewrite: they go out at once. */
const PASS_THROUGH_PHASES: ReadonlySet<Phase> = new Set(['bang', 'bracket', 'alt', 'paren']);

/** Recognises one inline data image, one character at a time (the payload in runs). */
class ImageMatcher {
  phase: Phase = 'bang';
  private schemeIndex = 0;
  private alt = '';
  private subtype = '';
  private parameter = '';
  private parameterChars = 0;
  private data = '';

  constructor(private readonly maxBase64Chars: number) {}

  /** Consumes a run of payload characters (only in the payload phase). */
  feedPayload(run: string): 'more' | 'fail' {
    this.data += run;
    return this.data.length > this.maxBase64Chars ? 'fail' : 'more';
  }

  feed(character: string): Step {
    switch (this.phase) {
      case 'bang':
        return character === '!' ? this.next('bracket') : 'fail';
      case 'bracket':
        return character === '[' ? this.next('alt') : 'fail';
      case 'alt':
        if (character === ']') return this.next('paren');
        if (character === '\n' || character === '[' || this.alt.length >= MAX_ALT_CHARS) return 'fail';
        this.alt += character;
        return 'more';
      case 'paren':
        return character === '(' ? this.next('scheme') : 'fail';
      case 'scheme':
        if (character.toLowerCase() !== SCHEME[this.schemeIndex]) return 'fail';
        this.schemeIndex += 1;
        return this.schemeIndex === SCHEME.length ? this.next('subtype') : 'more';
      case 'subtype': {
        const lower = character.toLowerCase();
        if (lower === ';' && this.subtype.length > 0) return this.next('parameter');
        if (!subtypeCharacter.test(lower) || this.subtype.length >= MAX_SUBTYPE_CHARS) return 'fail';
        this.subtype += lower;
        return 'more';
      }
      case 'parameter':
        this.parameterChars += 1;
        if (this.parameterChars > MAX_PARAMETER_CHARS) return 'fail';
        if (character === ',') return this.parameter.toLowerCase() === 'base64' ? this.next('data') : 'fail';
        if (character === ';') {
          if (!parameterPattern.test(this.parameter.toLowerCase())) return 'fail';
          this.parameter = '';
          return 'more';
        }
        this.parameter += character;
        return 'more';
      case 'data':
        if (character !== ')') return 'fail';
        return base64Pattern.test(this.data) ? 'done' : 'fail';
    }
  }

  private next(phase: Phase): 'more' {
    this.phase = phase;
    return 'more';
  }

  image(): InlineImage {
    return { alt: this.alt, mediaType: `image/${this.subtype}`, base64: this.data };
  }
}

/** The pure, incremental part: text in, text and image segments out, in order. */
export class InlineImageScanner {
  private matcher: ImageMatcher | undefined;
  /** Characters of the current candidate from its `data:` on, not yet out. */
  private held = '';
  private output: InlineImageSegment[] = [];

  constructor(private readonly options: InlineImageScannerOptions) {}

  /** True while text is held back because it may be an inline data image. */
  get holding(): boolean {
    return this.held.length > 0;
  }

  /** Feeds a delta; returns what can go out now. */
  push(text: string): InlineImageSegment[] {
    this.scan(text);
    return this.take();
  }

  /** The stream ended: held text goes out unchanged. */
  end(): InlineImageSegment[] {
    this.emitText(this.held);
    this.matcher = undefined;
    this.held = '';
    return this.take();
  }

  private take(): InlineImageSegment[] {
    const output = this.output;
    this.output = [];
    return output;
  }

  private emitText(text: string): void {
    if (!text) return;
    const last = this.output.at(-1);
    if (last?.kind === 'text') last.text += text;
    else this.output.push({ kind: 'text', text });
  }

  private scan(text: string): void {
    let index = 0;
    while (index < text.length) {
      if (!this.matcher) {
        const bang = text.indexOf('!', index);
        if (bang === -1) {
          this.emitText(text.slice(index));
          return;
        }
        this.emitText(text.slice(index, bang));
        this.matcher = new ImageMatcher(this.options.maxBase64Chars);
        index = bang;
      }
      const matcher = this.matcher;
      const passesThrough = PASS_THROUGH_PHASES.has(matcher.phase);
      let consumed: string;
      let step: Step;
      base64Run.lastIndex = index;
      if (matcher.phase === 'data' && base64Run.exec(text) && base64Run.lastIndex > index) {
        consumed = text.slice(index, base64Run.lastIndex);
        step = matcher.feedPayload(consumed);
      } else {
        consumed = text[index]!;
        step = matcher.feed(consumed);
      }
      index += consumed.length;
      if (step === 'more') {
        if (passesThrough) this.emitText(consumed);
        else this.held += consumed;
      } else if (step === 'done') {
        this.output.push({ kind: 'image', image: matcher.image(), original: this.held + consumed });
        this.matcher = undefined;
        this.held = '';
      } else {
        // Not an inline data image: what was held is plain text, but it (or the character that
        // broke the match) may start another image, so it is scanned again.
        const pending = this.held + consumed;
        this.matcher = undefined;
        this.held = '';
        this.scan(pending);
      }
    }
  }
}

/** Uploads one image and returns the URL that replaces its data URL. */
export type InlineImageUpload = (image: InlineImage) => Promise<string>;

export interface InlineImageRewriterOptions extends InlineImageScannerOptions {
  upload: InlineImageUpload;
  /** Called when an upload fails; the image keeps its data URL. */
  onUploadFailed?(error: unknown, image: InlineImage): void;
}

/**
 * The streaming transform: `push(delta)` resolves to the text to publish now (possibly empty while
 * an image is held back), `end()` to whatever remains. Uploads run in order, one image at a time.
 */
export class InlineImageRewriter {
  private readonly scanner: InlineImageScanner;

  constructor(private readonly options: InlineImageRewriterOptions) {
    this.scanner = new InlineImageScanner(options);
  }

  get holding(): boolean {
    return this.scanner.holding;
  }

  push(delta: string): Promise<string> {
    return this.render(this.scanner.push(delta));
  }

  end(): Promise<string> {
    return this.render(this.scanner.end());
  }

  private async render(segments: InlineImageSegment[]): Promise<string> {
    let text = '';
    for (const segment of segments) {
      if (segment.kind === 'text') {
        text += segment.text;
        continue;
      }
      try {
        text += `${await this.options.upload(segment.image)})`;
      } catch (error) {
        this.options.onUploadFailed?.(error, segment.image);
        text += segment.original;
      }
    }
    return text;
  }
}

/** Rewrites every inline data image of a whole text (tool results); the text is unchanged when it has none. */
export async function rewriteInlineImages(text: string, options: InlineImageRewriterOptions): Promise<string> {
  if (!/\]\(data:/i.test(text)) return text;
  const rewriter = new InlineImageRewriter(options);
  return (await rewriter.push(text)) + (await rewriter.end());
}
