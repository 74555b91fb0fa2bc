/** The attachment checks the API runs before anything starts, and which models see images. */
import { DEFAULT_ATTACHMENT_TYPES, DEFAULT_VISION_MODELS, type AttachmentLimits } from '../../src/config';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isVisionModel, userContentsWithAttachments } from '../../src/llm/attachment-content';
import { Attachments, checkAttachments, isAllowedType, isTextLike } from '../../src/storage/attachments';
import { FilesystemObjectStore } from '../../src/storage/filesystem-object-store';
import type { MessagePart } from '../../src/shared/messages';

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');
const limits: AttachmentLimits = { maxBytes: 1000, maxCount: 2, allowedTypes: DEFAULT_ATTACHMENT_TYPES, inlineTextChars: 100, visionModels: DEFAULT_VISION_MODELS };

function file(mediaType: string, body: Buffer | string, extra: Record<string, unknown> = {}): MessagePart {
  return { type: 'file', mediaType, filename: 'f', url: `data:${mediaType};base64,${Buffer.from(body).toString('base64')}`, ...extra };
}

function problemOf(parts: MessagePart[]) {
  const result = checkAttachments(parts, limits);
  return result.ok ? undefined : { status: result.problem.status, code: result.problem.code };
}

describe('checkAttachments', () => {
  it('accepts allowed files within the limits and decodes them', () => {
    const result = checkAttachments([{ type: 'text', text: 'hi' }, file('image/png', PNG), file('text/csv', 'a,b\n1,2')], limits);
    expect(result.ok && result.attachments.map((attachment) => [attachment.partIndex, attachment.kind === 'upload' && attachment.body.length])).toEqual([
      [1, PNG.length],
      [2, 7],
    ]);
  });

  it('accepts a message without files', () => {
    expect(checkAttachments([{ type: 'text', text: 'hi' }], limits)).toEqual({ ok: true, attachments: [] });
  });

  it.each([
    ['a file over the size limit', [file('text/plain', 'x'.repeat(1001))], 413, 'attachment_too_large'],
    ['more files than the count limit', [file('text/plain', 'a'), file('text/plain', 'b'), file('text/plain', 'c')], 413, 'too_many_attachments'],
    ['a type not on the list', [file('application/zip', 'PK')], 415, 'unsupported_media_type'],
    ['a PNG that is not one', [file('image/png', 'hello')], 415, 'unsupported_media_type'],
    ['text that is not UTF-8', [file('text/plain', Buffer.from([0xff, 0xfe, 0x00]))], 415, 'unsupported_media_type'],
    ['a data URL of another type than the part says', [file('text/plain', 'x', { url: `data:image/png;base64,${PNG.toString('base64')}` })], 415, 'unsupported_media_type'],
    ['a URL elsewhere', [file('image/png', PNG, { url: 'https://example.com/cat.png' })], 400, 'invalid_attachment'],
    ['a file part without url', [{ type: 'file', mediaType: 'text/plain' }], 400, 'invalid_attachment'],
    ['an empty file', [file('text/plain', '')], 400, 'invalid_attachment'],
  ] as const)('refuses %s', (_case, parts, status, code) => {
    expect(problemOf([...parts])).toEqual({ status, code });
  });

  it('accepts a reference to an earlier upload of this API', () => {
    const result = checkAttachments([{ type: 'file', mediaType: 'image/png', url: `/api/attachments/${'a'.repeat(32)}` }], limits);
    expect(result.ok && result.attachments[0]).toMatchObject({ kind: 'reference', attachmentId: 'a'.repeat(32) });
  });
});

describe('media types', () => {
  it('match the allowed list with wildcards', () => {
    expect(isAllowedType('text/markdown', ['text/*'])).toBe(true);
    expect(isAllowedType('TEXT/PLAIN', ['text/*'])).toBe(true);
    expect(isAllowedType('textual/x', ['text/*'])).toBe(false);
    expect(isAllowedType('image/png', ['image/jpeg'])).toBe(false);
  });

  it('tell text a model can read from binary files', () => {
    expect(['text/plain', 'application/json', 'application/ld+json', 'image/svg+xml', 'application/x-yaml'].every(isTextLike)).toBe(true);
    expect(['application/pdf', 'image/png', 'application/octet-stream'].some(isTextLike)).toBe(false);
  });
});

describe('isVisionModel', () => {
  it('matches the default patterns of vision-capable models', () => {
    for (const model of ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1-nano', 'claude-3-5-sonnet', 'gemini-2.0-flash', 'llava:13b', 'qwen2.5-vl-7b', 'scripted-1']) {
      expect([model, isVisionModel(model, DEFAULT_VISION_MODELS)]).toEqual([model, true]);
    }
    for (const model of ['gpt-3.5-turbo', 'text-only-1', 'llama3:8b', 'mistral-7b']) {
      expect([model, isVisionModel(model, DEFAULT_VISION_MODELS)]).toEqual([model, false]);
    }
  });

  it('treats regular-expression characters in patterns literally', () => {
    expect(isVisionModel('gpt-4o', ['gpt-4.o'])).toBe(false);
    expect(isVisionModel('my.model+v', ['my.model+*'])).toBe(true);
  });
});

describe('userContentsWithAttachments', () => {
  const attachments = new Attachments(new FilesystemObjectStore(mkdtempSync(path.join(os.tmpdir(), 'attachments-unit-'))));
  const options = { workspaceId: 'ws-unit', model: 'scripted-1', visionModels: DEFAULT_VISION_MODELS, inlineTextChars: 20 };

  async function storedMessage(files: MessagePart[]) {
    const checked = checkAttachments(files, { ...limits, maxCount: 10 });
    if (!checked.ok) throw new Error(checked.problem.message);
    return { id: 'm1', role: 'user' as const, parts: await attachments.storeMessageFiles('ws-unit', files, checked.attachments) };
  }

  it('cuts a long text file at the budget and says so', async () => {
    const message = await storedMessage([file('text/plain', 'abcdefghij'.repeat(5), { filename: 'long "name".txt' })]);
    const [content] = [...(await userContentsWithAttachments([message], attachments, options)).values()];
    expect(content).toEqual([
      { type: 'text', text: '<attachment name="long &quot;name&quot;.txt" type="text/plain">\nabcdefghijabcdefghij\n[… cut: the file has 50 characters, the first 20 are shown]\n</attachment>' },
    ]);
  });

  it('says when a stored file is gone, and leaves messages without files alone', async () => {
    const gone = { id: 'm2', role: 'user' as const, parts: [{ type: 'file', mediaType: 'text/plain', filename: 'old.txt', url: `/api/attachments/${'b'.repeat(32)}` }] };
    const plain = { id: 'm3', role: 'user' as const, parts: [{ type: 'text', text: 'hi' }] };
    const contents = await userContentsWithAttachments([gone, plain], attachments, options);
    expect(contents.get(gone)).toEqual([{ type: 'text', text: '[Attached file "old.txt" (text/plain) is no longer available.]' }]);
    expect(contents.has(plain)).toBe(false);
  });
});
