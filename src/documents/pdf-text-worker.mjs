// Extracts the text of one PDF, page by page, with unpdf (pdf.js) in a worker thread: parsing a
// large PDF is CPU work that must not stall the event loop of the process streaming LLM answers.
// Plain JavaScript so Node runs it as it is, whatever loader the parent process uses.
// Input (workerData): { bytes: Uint8Array }. Output: one message, { pages: string[] } or { error }.
import { parentPort, workerData } from 'node:worker_threads';
import { extractText, getDocumentProxy } from 'unpdf';

try {
  const pdf = await getDocumentProxy(new Uint8Array(workerData.bytes));
  const { text } = await extractText(pdf, { mergePages: false });
  parentPort.postMessage({ pages: text });
} catch (error) {
  parentPort.postMessage({ error: error instanceof Error ? error.message : String(error) });
}
