/** The script-tag bundle (one IIFE file, no import.meta.url to find a worker file by): no SharedWorker hosting. */
export function spawnSharedWorker(): SharedWorker | undefined {
  return undefined;
}
