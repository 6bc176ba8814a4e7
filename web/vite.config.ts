// Vite builds the web application from web/ into web/dist, which carecommd serves (static_dir).
// Hashed file names under /assets/ let the server cache them as immutable; index.html is not.
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  publicDir: 'public',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // Old phones in patients' hands: keep the syntax to what browsers of 2020 understand.
    target: ['es2020', 'safari14', 'chrome80', 'firefox78'],
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
  },
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  // `npm run dev:web`: Vite serves the sources with hot reload and passes the API and the event
  // socket to a running carecommd (CARECOMM_URL, https://localhost:8443 by default).
  server: {
    port: 5173,
    proxy: {
      '/api': { target: process.env.CARECOMM_URL || 'https://localhost:8443', secure: false, ws: true, changeOrigin: true },
    },
  },
});
