/**
 * The browser the browser tests drive: Debian's Chromium at /usr/bin/chromium (Playwright's own
 * browser downloads are not possible here, and not needed: `playwright-core` drives any Chromium).
 * A fresh machine does not have it, so the test setup installs it with apt-get, once, saying so.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** `CHROMIUM_PATH` points the tests at another Chromium build. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} ended with ${signal ?? `exit code ${code}`}`))));
  });
}

/** Installs Debian's `chromium` package when the binary is missing; resolves with its path. */
export async function ensureChromium(log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Promise<string> {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  if (process.env.CHROMIUM_PATH) throw new Error(`CHROMIUM_PATH=${CHROMIUM_PATH} does not exist.`);
  if (process.getuid?.() !== 0) {
    throw new Error(`The browser tests need Chromium at ${CHROMIUM_PATH}. Install it once with: sudo apt-get update && sudo apt-get install -y chromium`);
  }
  const started = Date.now();
  log(`Chromium is missing at ${CHROMIUM_PATH}: installing Debian's chromium package for the browser tests (once per machine, a minute or two).`);
  log('$ apt-get update');
  await run('apt-get', ['update']);
  log('$ apt-get install -y chromium');
  // Another test run may be installing at the same time: wait for the dpkg lock rather than fail.
  await run('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', 'chromium']);
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`apt-get installed chromium, but ${CHROMIUM_PATH} is still missing.`);
  log(`Chromium installed in ${Math.round((Date.now() - started) / 1000)} s.`);
  return CHROMIUM_PATH;
}

if (require.main === module) {
  ensureChromium().then(
    (path) => process.stderr.write(`Chromium: ${path}\n`),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
