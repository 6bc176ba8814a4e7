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
    rolldownOptions: {
      output: {
        // Every file stays under 16 KiB: carecommd writes an HTTP/2 response body as one DATA
        // frame, and a frame above the peer's SETTINGS_MAX_FRAME_SIZE (16 384 bytes by default)
        // makes browsers drop the whole connection (ERR_HTTP2_FRAME_SIZE_ERROR). Remove once the
        // server splits bodies into frames (reported with issue 3).
        codeSplitting: {
          groups: [
            { name: 'vendor', test: /node_modules/, maxSize: 12000 },
            { name: 'app', test: (id: string) => !id.endsWith('/src/main.tsx'), maxSize: 12000 },
          ],
        },
      },
    },
  },
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  server: { port: 5173 },
});
