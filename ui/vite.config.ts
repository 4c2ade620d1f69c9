import { defineConfig } from "vitest/config";

// Preact through the automatic JSX runtime (importSource from tsconfig): no framework plugin needed.
export default defineConfig({
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: { target: "safari15", outDir: "dist", emptyOutDir: true },
  test: { environment: "jsdom", globals: false },
});
