// Vite builds the web application from web/ into web/dist, which carecommd serves (static_dir).
// Hashed file names under /assets/ let the server cache them as immutable; index.html is not.
import { defineConfig } from 'vite';

export default defineConfig({
  root: __dirname,
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
  server: { port: 5173 },
});
