/** Validates an OpenAPI document with the real schema validator (test/clients/validate-openapi.mjs) in a child process. */
import { spawn } from 'node:child_process';
import path from 'node:path';

export async function validateOpenApi(document: unknown): Promise<{ valid: boolean; errors: unknown[] }> {
  const child = spawn(process.execPath, [path.resolve(__dirname, '../clients/validate-openapi.mjs')], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdin.end(JSON.stringify(document));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`the OpenAPI validator exited with ${code}: ${stderr}`);
  return JSON.parse(stdout) as { valid: boolean; errors: unknown[] };
}
