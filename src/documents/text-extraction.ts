/**
 * The text of an uploaded document: UTF-8 text and Markdown as they are (byte order mark dropped,
 * line ends unified), PDF through `unpdf` (Mozilla's pdf.js, serverless build, no native code), one
 * page after another separated by a blank line. A PDF without a text layer (a scan) gives no text:
 * the caller reports it as empty rather than guessing.
 */

export const DOCUMENT_MEDIA_TYPES = ['text/plain', 'text/markdown', 'application/pdf'] as const;
export type DocumentMediaType = (typeof DOCUMENT_MEDIA_TYPES)[number];

export function isDocumentMediaType(value: string): value is DocumentMediaType {
  return (DOCUMENT_MEDIA_TYPES as readonly string[]).includes(value);
}

/** The file could not be read as its media type says (a corrupt PDF, text that is not UTF-8). */
export class DocumentUnreadableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DocumentUnreadableError';
  }
}

function normaliseText(text: string): string {
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
}

export async function extractDocumentText(bytes: Uint8Array, mediaType: DocumentMediaType): Promise<string> {
  if (mediaType !== 'application/pdf') {
    try {
      return normaliseText(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (error) {
      throw new DocumentUnreadableError('the file is not UTF-8 text', { cause: error });
    }
  }
  const { extractText, getDocumentProxy } = await import('unpdf');
  let pages: string[];
  try {
    // pdf.js takes ownership of (and detaches) the buffer it is given: hand it a copy.
    const pdf = await getDocumentProxy(new Uint8Array(bytes));
    pages = (await extractText(pdf, { mergePages: false })).text;
  } catch (error) {
    throw new DocumentUnreadableError(`the PDF could not be read: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return normaliseText(pages.map((page) => page.trim()).filter(Boolean).join('\n\n'));
}
