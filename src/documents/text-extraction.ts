/**
 * The text of an uploaded document: UTF-8 text and Markdown as they are (byte order mark dropped,
 * line ends unified), PDF through `unpdf` (Mozilla's pdf.js, serverless build, no native code) in a
 * worker thread (./pdf-text-worker.mjs), one page after another separated by a blank line. A PDF
 * without a text layer (a scan) gives no text: the caller reports it as empty rather than guessing.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';

/** A PDF that takes longer than this to read is refused (the worker thread is stopped). */
export const PDF_EXTRACTION_TIMEOUT_MS = 60_000;
const PDF_WORKER = path.join(__dirname, 'pdf-text-worker.mjs');

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
  const pages = await pdfPages(bytes);
  return normaliseText(pages.map((page) => page.trim()).filter(Boolean).join('\n\n'));
}

/** The text of each page, read in a worker thread; unreadable or too slow → `DocumentUnreadableError`. */
function pdfPages(bytes: Uint8Array): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(PDF_WORKER, { workerData: { bytes } });
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new DocumentUnreadableError(`the PDF could not be read within ${PDF_EXTRACTION_TIMEOUT_MS / 1000} s`));
    }, PDF_EXTRACTION_TIMEOUT_MS);
    const settle = (outcome: () => void) => {
      clearTimeout(timer);
      outcome();
      void worker.terminate();
    };
    worker.once('message', (message: { pages?: string[]; error?: string }) =>
      settle(() => (message.pages ? resolve(message.pages) : reject(new DocumentUnreadableError(`the PDF could not be read: ${message.error ?? 'no text'}`)))),
    );
    worker.once('error', (error) => settle(() => reject(new DocumentUnreadableError(`the PDF could not be read: ${error.message}`, { cause: error }))));
    worker.once('exit', (code) => settle(() => reject(new DocumentUnreadableError(`the PDF reader stopped (exit code ${code})`))));
  });
}
