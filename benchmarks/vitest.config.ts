// For `npx vitest run --root benchmarks`: the benchmark library's own unit tests (the root
// config covers packages/*/test and test/ only).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { include: ['test/**/*.test.ts'] },
});
