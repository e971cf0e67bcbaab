import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";

export default defineConfig({
  plugins: [react(), tailwindcss()],
  build: {
    outDir: "dist",
    // The server's CSP is `default-src 'self'`: a `data:` URL for an inlined asset would be
    // blocked, so every asset stays a file.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: {
    // `npm run dev` against a local server: the SPA calls /api on its own origin and Vite
    // forwards it, so no CORS set-up is needed while developing.
    proxy: {
      "/api": process.env.VITE_DEV_PROXY ?? "http://127.0.0.1:8000",
    },
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
    restoreMocks: true,
  },
});
