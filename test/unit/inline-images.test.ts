/**
 * The inline image transform on its own: what goes out when, what is held back, what an image
 * becomes, and that any split of the same text into deltas gives the same result.
 */
import { InlineImageRewriter, InlineImageScanner, rewriteInlineImages, type InlineImage } from '../../src/storage/inline-images';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
const IMAGE = `![a red dot](data:image/png;base64,${PNG})`;

function recordingUpload() {
  const uploaded: InlineImage[] = [];
  const upload = async (image: InlineImage) => {
    uploaded.push(image);
    return `/api/generated-images/img${uploaded.length}`;
  };
  return { uploaded, upload };
}

async function streamThrough(deltas: readonly string[], upload: (image: InlineImage) => Promise<string>, maxBase64Chars = 10_000) {
  const rewriter = new InlineImageRewriter({ upload, maxBase64Chars });
  const outputs: string[] = [];
  for (const delta of deltas) outputs.push(await rewriter.push(delta));
  outputs.push(await rewriter.end());
  return { outputs, text: outputs.join('') };
}

function splitEvery(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let index = 0; index < text.length; index += size) pieces.push(text.slice(index, index + size));
  return pieces;
}

describe('text that holds no inline data image', () => {
  it.each([
    ['Hello! How are you?', ['Hello!', ' How', ' are you?']],
    ['Wow!', ['Wow', '!']],
    ['A link ![logo](https://example.com/logo.png) and [text](data:image/png;base64,AAAA)', ['A link ![logo](', 'https://example.com/logo.png)', ' and [text](data:image/png;base64,AAAA)']],
    ['!!! ![](x) ![alt] (data:image/png;base64,AA)', ['!!', '! ![](x) ![alt]', ' (data:image/png;base64,AA)']],
  ])('goes out delta by delta, unchanged: %j', async (whole, deltas) => {
    const { upload, uploaded } = recordingUpload();
    const rewriter = new InlineImageRewriter({ upload, maxBase64Chars: 1000 });
    for (const delta of deltas) expect(await rewriter.push(delta)).toBe(delta);
    expect(await rewriter.end()).toBe('');
    expect(deltas.join('')).toBe(whole);
    expect(uploaded).toHaveLength(0);
  });

  it('lets `![x](` out at once and holds only from `data:` on', () => {
    const scanner = new InlineImageScanner({ maxBase64Chars: 1000 });
    expect(scanner.push('See ![chart](')).toEqual([{ kind: 'text', text: 'See ![chart](' }]);
    expect(scanner.holding).toBe(false);
    expect(scanner.push('data:image/png;base64,iVBOR')).toEqual([]);
    expect(scanner.holding).toBe(true);
    expect(scanner.push('w0KGgo) done')).toEqual([
      { kind: 'image', image: { alt: 'chart', mediaType: 'image/png', base64: 'iVBORw0KGgo' }, original: 'data:image/png;base64,iVBORw0KGgo)' },
      { kind: 'text', text: ' done' },
    ]);
    expect(scanner.holding).toBe(false);
  });

  it.each([
    ['a data URL of another type', '![a](data:text/plain;base64,SGVsbG8=) rest'],
    ['a payload with a space', '![a](data:image/png;base64,iVBO Rw0K) rest'],
    ['padding in the middle', '![a](data:image/png;base64,iV==BO) rest'],
    ['a data URL that is not base64', '![a](data:image/svg+xml;utf8,<svg/>) rest'],
    ['an empty payload', '![a](data:image/png;base64,) rest'],
    ['a newline in the alt text', '![a\nb](data:image/png;base64,AAAA) rest'],
  ])('releases %s unchanged', async (_case, text) => {
    const { upload, uploaded } = recordingUpload();
    for (const size of [1, 3, 7, text.length]) {
      expect((await streamThrough(splitEvery(text, size), upload)).text).toBe(text);
    }
    expect(uploaded).toHaveLength(0);
  });

  it('releases an image that never closes when the stream ends', async () => {
    const { upload } = recordingUpload();
    const text = `Cut here ![a](data:image/png;base64,${PNG.slice(0, 20)}`;
    const { outputs, text: result } = await streamThrough([text], upload);
    expect(outputs[0]).toBe('Cut here ![a](');
    expect(result).toBe(text);
  });

  it('releases a payload longer than the limit as text, without waiting for its end', async () => {
    const { upload, uploaded } = recordingUpload();
    const rewriter = new InlineImageRewriter({ upload, maxBase64Chars: 40 });
    expect(await rewriter.push('![big](data:image/png;base64,')).toBe('![big](');
    const released = await rewriter.push('A'.repeat(50));
    expect(released).toBe(`data:image/png;base64,${'A'.repeat(50)}`);
    expect(await rewriter.push('AAAA)')).toBe('AAAA)');
    expect(uploaded).toHaveLength(0);
  });
});

describe('inline data images', () => {
  it('are replaced by the uploaded URL, with the text around them intact', async () => {
    const { upload, uploaded } = recordingUpload();
    const { text } = await streamThrough([`Here it is: ${IMAGE} Enjoy!`], upload);
    expect(text).toBe('Here it is: ![a red dot](/api/generated-images/img1) Enjoy!');
    expect(uploaded).toEqual([{ alt: 'a red dot', mediaType: 'image/png', base64: PNG }]);
  });

  it('give the same result however the text is split into deltas', async () => {
    const whole = `Two! ${IMAGE}${IMAGE.replace('a red dot', 'again')}!end`;
    const expected = 'Two! ![a red dot](/api/generated-images/img1)![again](/api/generated-images/img2)!end';
    for (let cut = 0; cut <= whole.length; cut += 1) {
      const { upload } = recordingUpload();
      expect((await streamThrough([whole.slice(0, cut), whole.slice(cut)], upload)).text).toBe(expected);
    }
    for (const size of [1, 2, 5, 16, 64]) {
      const { upload, uploaded } = recordingUpload();
      expect((await streamThrough(splitEvery(whole, size), upload)).text).toBe(expected);
      expect(uploaded.map((image) => image.alt)).toEqual(['a red dot', 'again']);
    }
  });

  it('are found after a false start that ends where an image begins', async () => {
    const { upload } = recordingUpload();
    const text = `![a](data:image/pn!${IMAGE.slice(1)}`;
    expect((await streamThrough(splitEvery(text, 4), upload)).text).toBe('![a](data:image/pn![a red dot](/api/generated-images/img1)');
  });

  it('accept media type parameters and an upper-case scheme', async () => {
    const { upload, uploaded } = recordingUpload();
    const text = '![logo](DATA:image/SVG+XML;charset=utf-8;base64,PHN2Zy8+)';
    expect((await streamThrough(splitEvery(text, 3), upload)).text).toBe('![logo](/api/generated-images/img1)');
    expect(uploaded[0]).toEqual({ alt: 'logo', mediaType: 'image/svg+xml', base64: 'PHN2Zy8+' });
  });

  it('keep their base64 when the upload fails, and the failure is reported', async () => {
    const failures: string[] = [];
    const rewriter = new InlineImageRewriter({
      maxBase64Chars: 10_000,
      upload: async () => {
        throw new Error('bucket unavailable');
      },
      onUploadFailed: (error) => failures.push((error as Error).message),
    });
    const text = `Before ${IMAGE} after`;
    const result = (await Promise.all(splitEvery(text, 10).map((delta) => rewriter.push(delta)))).join('') + (await rewriter.end());
    expect(result).toBe(text);
    expect(failures).toEqual(['bucket unavailable']);
  });
});

describe('rewriteInlineImages (whole texts such as tool results)', () => {
  it('rewrites every image of a JSON text and keeps it valid JSON', async () => {
    const { upload } = recordingUpload();
    const json = JSON.stringify({ markdown: `Chart: ${IMAGE}`, note: 'a "quoted" note!' });
    const rewritten = await rewriteInlineImages(json, { upload, maxBase64Chars: 10_000 });
    expect(JSON.parse(rewritten)).toEqual({ markdown: 'Chart: ![a red dot](/api/generated-images/img1)', note: 'a "quoted" note!' });
  });

  it('returns a text without images as it is, without scanning it', async () => {
    const { upload, uploaded } = recordingUpload();
    expect(await rewriteInlineImages('No images here!', { upload, maxBase64Chars: 10 })).toBe('No images here!');
    expect(uploaded).toHaveLength(0);
  });
});

describe('any text, any split', () => {
  it('streams to the same result as the whole text, and to the input itself when every upload fails', async () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const fragments = ['!', '[', ']', '(', ')', 'data:', 'image/', 'png', ';', 'base64,', 'iVBO', '==', ' ', 'x', '\n', IMAGE, '![a](data:image/gif;base64,R0lG)'];
    for (let round = 0; round < 300; round += 1) {
      const text = Array.from({ length: 1 + Math.floor(random() * 30) }, () => fragments[Math.floor(random() * fragments.length)]).join('');
      const cuts = [...new Set(Array.from({ length: Math.floor(random() * 6) }, () => Math.floor(random() * text.length)))].sort((a, b) => a - b);
      const deltas = [0, ...cuts].map((start, index) => text.slice(start, [...cuts, text.length][index]));
      const whole = await rewriteInlineImages(text, { upload: async (image) => `/u/${image.base64}`, maxBase64Chars: 1000 });
      expect((await streamThrough(deltas, async (image) => `/u/${image.base64}`)).text).toBe(whole);
      const failing = async () => {
        throw new Error('down');
      };
      expect((await streamThrough(deltas, failing)).text).toBe(text);
    }
  });
});
