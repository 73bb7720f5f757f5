import { defineConfig } from 'vitest/config';

// Integration tests start real processes (mosquitto, ffmpeg, ONNX workers); on a 2-core CI box
// running too many files at once only makes each of them flaky, so files run two at a time.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
