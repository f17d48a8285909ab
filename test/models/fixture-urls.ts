/** Fixture specs as served by test/fixture-server.ts, usable from browser tests. */
export { fixtureConfig } from '../fixtures/fixture.ts';
export { fixtureOptions as fixtureOptionsForTest } from '../fixture-server.ts';
