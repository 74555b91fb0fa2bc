/**
 * Serves the chat app (the Vite build of `web/`) at `/`: hashed assets with long-lived caching, and
 * `index.html` (never cached) for the app's own paths, so a reload of `/c/<chat id>` opens that chat.
 * When the build is missing the page says how to make it instead of a bare 404.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { Router, type Response } from 'express';

/** Where `npm run build:web` writes the app. */
export const WEB_APP_DIRECTORY = path.resolve(__dirname, '../../web/dist');

/** The app's client-side routes: the new-chat page and one chat. */
const APP_PATHS = ['/', '/c/:chatId'];

export function createWebAppRouter(directory: string = WEB_APP_DIRECTORY): Router {
  const router = Router();
  const index = path.join(directory, 'index.html');
  router.use('/assets', express.static(path.join(directory, 'assets'), { immutable: true, maxAge: '365d', index: false }));
  router.get(APP_PATHS, (_request, response: Response) => {
    if (!existsSync(index)) {
      response
        .status(503)
        .type('html')
        .send('<!doctype html><title>durable-chat</title><p>The chat app is not built yet. Run <code>npm run build:web</code> (npm install and npm start do it for you), then reload.</p>');
      return;
    }
    response.setHeader('Cache-Control', 'no-cache');
    response.sendFile(index);
  });
  return router;
}
