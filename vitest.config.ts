import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: {
    alias: {
      // Longest first: an alias matches as a prefix.
      'tau-agent/agent': fileURLToPath(new URL('./sdk/create-agent.ts', import.meta.url)),
      'tau-agent/plugins': fileURLToPath(new URL('./sdk/plugins.ts', import.meta.url)),
      'tau-agent/presets': fileURLToPath(new URL('./presets/index.ts', import.meta.url)),
      'tau-agent/testing': fileURLToPath(new URL('./sdk/testing.ts', import.meta.url)),
      'tau-agent/kernel': fileURLToPath(new URL('./kernel/index.ts', import.meta.url)),
      'tau-agent/scripted-server': fileURLToPath(
        new URL('./plugins/provider-scripted/server.ts', import.meta.url),
      ),
      'tau-agent': fileURLToPath(new URL('./sdk/index.ts', import.meta.url)),
      // The name before the package had its npm name (tau.config.ts files still use it).
      'tau/testing': fileURLToPath(new URL('./sdk/testing.ts', import.meta.url)),
      'tau/scripted-server': fileURLToPath(new URL('./plugins/provider-scripted/server.ts', import.meta.url)),
      tau: fileURLToPath(new URL('./sdk/index.ts', import.meta.url)),
    },
  },
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    // Most files spend their time waiting on child tau processes, scripted servers and clusters, so
    // more files than cores run at once (vitest's default is cores - 1: one worker on CI's two).
    maxWorkers: Math.max(3, availableParallelism()),
    // Limits that only catch a hang: the end-to-end files run many real tau processes at once on
    // CI's two cores, where a test that takes 3 s alone can take 40 s; no test waits on them.
    // Above test/e2e/run-tau.ts's HANG_LIMIT_MS, so a hung process is reported with its output.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // Tests never touch the real home directory.
    // Tests build throwaway projects of their own and trust them (TAU_TRUST=1, as CI would); the
    // trust tests unset it to see what an untrusted workspace leaves out.
    env: {
      TAU_HOME: '/nonexistent-tau-home-set-per-test',
      CLAUDE_CONFIG_DIR: '/nonexistent-claude-home-set-per-test',
      // The managed (policy) files: never the machine's /etc/tau or /etc/claude-code.
      TAU_MANAGED_SETTINGS_DIR: '/nonexistent-managed-settings-set-per-test',
      TAU_TRUST: '1',
    },
    // A vi.stubEnv never outlives its test: unit files share worker processes (below).
    unstubEnvs: true,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts', 'docs/examples/**/*.test.ts'],
          exclude: ['test/e2e/**'],
          // In-process tests share a worker's module cache, so the kernel and plugins are imported
          // once per worker instead of once per file (most of the suite's import time). Each file
          // restores what it changes (process.env, PATH, HOME) in afterEach/finally.
          isolate: false,
          globalSetup: ['./test/global-setup.ts'],
          // A project without its own include gets vitest's default, which matches bench/ too.
          benchmark: { include: ['test/**/*.bench.ts'] },
        },
      },
      {
        extends: true,
        // Each end-to-end file in a fresh worker: they drive the built binary and wait on it.
        // `vitest bench` runs bench/ here, once, a fresh worker per file as before the projects.
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['./test/global-setup.ts'],
          benchmark: { include: ['bench/**/*.bench.ts'] },
        },
      },
    ],
  },
})
