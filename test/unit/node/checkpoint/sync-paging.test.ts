// Checkpoint sync, paging: a chain longer than one answer (64 checkpoints) is fetched page by page, each
// page verified from the committee the previous one names. Apart from sync.test.ts because its 65
// real BLS signatures and verifications take about 4 s of CPU on their own.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { FleekError } from '../../../../src/lib/errors.ts'
import { derivePublicKey } from '../../../../src/lib/keys/index.ts'
import {
  type ChainedCheckpoint,
  MAX_CHECKPOINTS_PER_ANSWER,
  aggregateCheckpoint,
  computeCommitteeDigest,
  decodeCheckpointSyncRequest,
  encodeCheckpointsAnswer,
  fetchLatestCheckpoint,
  signCheckpoint,
} from '../../../../src/node/checkpoint/index.ts'
import { silentLogger } from '../../../../src/node/logger.ts'

/** Key i's consensus secret is [i+1, i+1, …]; the committee of epoch e is key e mod 3 alone (cheap, still real BLS). */
const keys = Array.from({ length: 3 }, (_, i) => {
  const secret = new Uint8Array(32).fill(i + 1)
  return { secret, publicKey: derivePublicKey({ kind: 'consensus', secret }) }
})
const soloOf = (epoch: number) => keys[epoch % keys.length]

function linkOf(epoch: number): ChainedCheckpoint {
  const next = [soloOf(epoch + 1).publicKey]
  const vote = signCheckpoint(soloOf(epoch), {
    epoch,
    height: 10 * (epoch + 1),
    stateRoot: new Uint8Array(32).fill(epoch & 0xff),
    parcel: new Uint8Array(32).fill(1),
    index: epoch,
    nextCommittee: computeCommitteeDigest(next),
    snapshotBytes: 1234,
    snapshotHash: new Uint8Array(32).fill(3),
  })
  // Built by hand (what aggregateCheckpoint makes of one vote) to spare a verification per link.
  const { signer: _signer, ...message } = vote
  return { checkpoint: { ...message, signers: Uint8Array.of(1) }, nextCommittee: next }
}

test('a chain longer than one answer is fetched in pages of 64', async () => {
  const long = Array.from({ length: MAX_CHECKPOINTS_PER_ANSWER + 1 }, (_, epoch) => linkOf(epoch))
  // The hand-built form is the real one.
  assert.deepEqual(
    aggregateCheckpoint([signCheckpoint(soloOf(0), long[0].checkpoint)], [soloOf(0).publicKey]),
    long[0].checkpoint,
  )
  const asked: number[] = []
  const deps = {
    // A remote node that serves at most 64 checkpoints from the asked epoch, as a real one does.
    request: async (_peer: string, bytes: Uint8Array) => {
      const wanted = decodeCheckpointSyncRequest(bytes)
      if (wanted?.kind !== 'checkpoints') throw new FleekError('NOT_FOUND', 'only checkpoints here')
      asked.push(wanted.fromEpoch)
      return encodeCheckpointsAnswer(
        long.slice(wanted.fromEpoch, wanted.fromEpoch + MAX_CHECKPOINTS_PER_ANSWER),
      )
    },
    logger: silentLogger(),
  }
  const start = { epoch: 0, committee: [soloOf(0).publicKey] }
  const latest = await fetchLatestCheckpoint(deps, ['peer'], start, AbortSignal.timeout(60_000))
  assert.deepEqual(asked, [0, MAX_CHECKPOINTS_PER_ANSWER])
  assert.ok(latest)
  assert.equal(latest.chain.length, MAX_CHECKPOINTS_PER_ANSWER + 1)
  assert.deepEqual(latest.chain.at(-1), long.at(-1))
  assert.deepEqual(latest.peers, ['peer'])
})
