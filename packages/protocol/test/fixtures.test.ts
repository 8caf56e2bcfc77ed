/**
 * Data-driven tests over the shared oversqlite contract fixtures, one test per fixture case.
 *
 * All of them hang under one describe so that missing fixtures show up as exactly one skipped
 * suite with a readable name, never as a silent pass.
 */

import { describe, it } from 'vitest';
import { describeCanonicalJsonFixture } from './fixture-suites/canonical-json.js';
import { describeHandshakeFixture } from './fixture-suites/handshake.js';
import { describeProtocolHttpFixture } from './fixture-suites/protocol-http.js';
import { describePullSnapshotFixture } from './fixture-suites/pull-snapshot.js';
import { describePushFixture } from './fixture-suites/push.js';
import { describeWatchFixture } from './fixture-suites/watch.js';
import { FIXTURES_ABSENT_LABEL, FIXTURES_DIR, FIXTURES_PRESENT } from './support/fixtures.js';

describe.skipIf(!FIXTURES_PRESENT)(
  FIXTURES_PRESENT ? 'shared oversqlite fixtures' : FIXTURES_ABSENT_LABEL,
  () => {
    if (!FIXTURES_PRESENT) {
      // Collection still runs for a skipped suite; register a placeholder instead of reading files,
      // and say so once on stderr because the default reporter hides skipped suite names.
      console.warn(`${FIXTURES_ABSENT_LABEL} (looked in ${FIXTURES_DIR})`);
      it('needs ../shared/contracts/oversqlite', () => {});
      return;
    }
    describeCanonicalJsonFixture();
    describeProtocolHttpFixture();
    describeHandshakeFixture();
    describePushFixture();
    describePullSnapshotFixture();
    describeWatchFixture();
  },
);
