/**
 * Vite build of the chat app. `npm run build:web` (run by npm install and npm start) writes
 * web/dist, which the API serves at `/`. `npm run dev:web` serves the app with hot reload and proxies
 * `/api` to the API at API_URL (default http://127.0.0.1:3000).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: path.dirname(fileURLToPath(import.meta.url)),
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
    // Timing warnings are noise on a shared 2-core machine; build errors and real warnings still show.
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
  server: {
    proxy: { '/api': { target: process.env.API_URL ?? 'http://127.0.0.1:3000', changeOrigin: false } },
  },
});
