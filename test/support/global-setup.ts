/**
 * Once per `npm test` run: a Temporal server (TEMPORAL_ADDRESS when reachable, otherwise an
 * in-memory dev server built or found by the same code as `npm start`), an S3-compatible server
 * (TEST_S3_ENDPOINT when reachable, otherwise gofakes3 built or found the same way), a fresh Postgres database
 * with the migrations applied, and the workflow bundle built once for every test worker. For the
 * browser tests: Chromium (installed with apt-get when missing) and a fresh build of the chat app.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { createLogger } from '../../src/logger';
import { ensureDatabase, migrate } from '../../src/db/database';
import { obtainS3Server, type LocalS3Server } from '../../src/stack/s3-server';
import { obtainTemporalServer, type TemporalServer } from '../../src/stack/temporal-server';
import { WORKFLOWS_PATH } from '../../src/worker/create-worker';
import { webBuildIsStale } from '../../scripts/build-web';
import { ensureChromium } from './chromium';

declare global {
  var durableChatTestStack: { temporal: TemporalServer; s3: LocalS3Server; databaseUrl: string; directory: string } | undefined;
}

/** Builds the chat app in a child process (Vite is ESM-only and heavy; jest's process stays lean). */
function buildWebAppWhenStale(): Promise<void> {
  if (!webBuildIsStale()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.resolve(__dirname, '../../scripts/build-web.ts')], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the chat app build failed (exit code ${code})`))));
  });
}

export default async function globalSetup() {
  const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'warn', 'test-setup');
  const started = Date.now();
  await ensureChromium();
  const [temporal] = await Promise.all([obtainTemporalServer({ configuredAddress: process.env.TEMPORAL_ADDRESS, headless: true, logger }), buildWebAppWhenStale()]);
  // The S3 object store is tested against a real S3-compatible server: TEST_S3_ENDPOINT when it answers, else gofakes3.
  const s3 = await obtainS3Server({ configuredEndpoint: process.env.TEST_S3_ENDPOINT, logger });

  const base = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  base.pathname = `/durable_chat_test_${process.pid}_${Date.now()}`;
  const databaseUrl = base.toString();
  await ensureDatabase(databaseUrl, logger);
  await migrate(databaseUrl, logger);

  const directory = mkdtempSync(path.join(os.tmpdir(), 'durable-chat-test-'));
  const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { log() {}, trace() {}, debug() {}, info() {}, warn: (message) => logger.warn(message), error: (message) => logger.error(message) } });
  const bundlePath = path.join(directory, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);

  process.env.TEST_TEMPORAL_ADDRESS = temporal.address;
  process.env.TEST_DATABASE_URL = databaseUrl;
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
  process.env.TEST_S3_ENDPOINT = s3.endpoint;
  globalThis.durableChatTestStack = { temporal, s3, databaseUrl, directory };
  logger.warn({ temporal: temporal.address, s3: s3.endpoint, databaseUrl, seconds: (Date.now() - started) / 1000 }, 'test stack ready');
}
