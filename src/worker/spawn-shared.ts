/**
 * Starts (or joins) the origin's llmo SharedWorker. It must be a real URL, not a Blob URL: a Blob URL is private to
 * its page, so every tab would get its own worker. Vite emits worker/shared-worker.ts as its own file next to the
 * ES bundle. Undefined where the browser has no SharedWorker (Chrome on Android, older Safari).
 */
export function spawnSharedWorker(): SharedWorker | undefined {
  if (typeof SharedWorker === 'undefined') return undefined;
  return new SharedWorker(new URL('./shared-worker.ts', import.meta.url), { type: 'module', name: 'llmo-shared' });
}
