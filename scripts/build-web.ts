/**
 * Builds the chat app (`web/`) into `web/dist` with Vite, which the API serves at `/`.
 *
 * Run by `npm install`/`npm ci` (postinstall), before `npm start` and by the test setup; it rebuilds
 * only when a source file (web/, the lockfile) is newer than the last build, so the usual run costs
 * a directory walk. The build output is never committed.
 *
 *   tsx scripts/build-web.ts            build when stale
 *   tsx scripts/build-web.ts --force    build anyway
 */
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const WEB_ROOT = path.resolve(__dirname, '../web');
const OUTPUT = path.join(WEB_ROOT, 'dist');
/** Written after a successful build; its time is the build's time. */
const STAMP = path.join(OUTPUT, '.build-stamp');
const LOCKFILE = path.resolve(__dirname, '../package-lock.json');

function newestModification(entry: string): number {
  const stats = statSync(entry);
  if (!stats.isDirectory()) return stats.mtimeMs;
  let newest = stats.mtimeMs;
  for (const child of readdirSync(entry)) {
    if (child === 'dist' || child === 'node_modules') continue;
    newest = Math.max(newest, newestModification(path.join(entry, child)));
  }
  return newest;
}

/** Whether web/dist is missing or older than a source file. */
export function webBuildIsStale(): boolean {
  if (!existsSync(STAMP)) return true;
  const built = statSync(STAMP).mtimeMs;
  return newestModification(WEB_ROOT) > built || (existsSync(LOCKFILE) && statSync(LOCKFILE).mtimeMs > built);
}

export type WebBuildOutcome = 'built' | 'fresh' | 'no-sources';

/** Builds the app when it is stale (or always with `force`); `log` gets one line per step. */
export async function buildWebApp(options: { force?: boolean; log?: (line: string) => void } = {}): Promise<WebBuildOutcome> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  // The Docker image installs dependencies before it copies web/: nothing to build yet.
  if (!existsSync(path.join(WEB_ROOT, 'index.html'))) return 'no-sources';
  if (!options.force && !webBuildIsStale()) return 'fresh';
  const started = Date.now();
  log('Building the chat app (web/ → web/dist) with Vite…');
  const { build } = await import('vite');
  await build({ configFile: path.join(WEB_ROOT, 'vite.config.mts'), logLevel: 'warn', clearScreen: false });
  writeFileSync(STAMP, new Date().toISOString());
  log(`Chat app built in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  return 'built';
}

if (require.main === module) {
  buildWebApp({ force: process.argv.includes('--force') }).then(
    (outcome) => {
      if (outcome === 'fresh') process.stderr.write('The chat app build (web/dist) is up to date.\n');
      if (outcome === 'no-sources') process.stderr.write('No web/ sources here: the chat app is not built.\n');
    },
    (error: unknown) => {
      console.error(`The chat app did not build: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
