import type { AddressInfo } from 'node:net';
import { startServer } from './server.ts';

/** Starts the static host on a free port; tests read it from LLMO_E2E_URL (see e2e/helpers.ts). */
export default async function globalSetup(): Promise<() => Promise<void>> {
  const server = await startServer(Number(process.env.LLMO_E2E_PORT ?? 0));
  process.env.LLMO_E2E_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return () => new Promise<void>((done) => server.close(() => done()));
}
