/** Fixture specs as served by test/fixture-server.ts, usable from browser tests. */
export { fixtureConfig } from '../../src/formats/fixture.ts';
export { fixtureOptions as fixtureOptionsForTest } from '../fixture-server.ts';
