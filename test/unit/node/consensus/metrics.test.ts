import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import { Registry } from 'prom-client'

import { Consensus, MemoryDagStore, createConsensusMetrics } from '../../../../src/node/consensus/index.ts'
import { LoopbackHub } from '../../../../src/node/consensus/loopback.ts'
import { CommitRecorder, makeCommittee, makeMembers } from './fixtures.ts'

/** The value of one sample line of the Prometheus text, or undefined. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line === undefined ? undefined : Number(line.slice(name.length + 1))
}

describe('consensus metrics', () => {
  it('exports the round, the certificates and the commit latency into the registry given', async () => {
    const registry = new Registry()
    const metrics = createConsensusMetrics(registry)
    const [member] = makeMembers(1)
    const consensus = new Consensus(
      { maxBatchDelayMs: 5, maxHeaderDelayMs: 20 },
      {
        committee: makeCommittee([member]),
        keys: { secretKey: member.seed, publicKey: member.publicKey },
        store: new MemoryDagStore(),
        network: new LoopbackHub().createNetwork('self'),
        metrics,
      },
    )
    const recorder = new CommitRecorder()
    consensus.onCommit(recorder.handler)
    const controller = new AbortController()
    consensus.start(controller.signal)
    for (let i = 0; i < 5; i++) consensus.submit(Buffer.from(`tx-${i}`))
    await recorder.waitFor(() => recorder.transactions.length >= 5, 10_000, '5 transactions')
    const text = await registry.metrics()
    // The round may move on while the text is rendered.
    const round = sample(text, 'fleek_consensus_round') ?? 0
    assert.ok(round >= 1 && round <= consensus.round, `round ${round}`)
    assert.ok((sample(text, 'fleek_consensus_certificates_total{origin="own"}') ?? 0) >= 2)
    assert.ok((sample(text, 'fleek_consensus_committed_subdags_total') ?? 0) >= 1)
    assert.ok((sample(text, 'fleek_consensus_committed_batches_total') ?? 0) >= 1)
    assert.ok((sample(text, 'fleek_consensus_commit_latency_seconds_count') ?? 0) >= 1)
    // One set of metrics per node, shared by each epoch's consensus: a second one in the same registry
    // is refused (names are unique in a registry).
    assert.throws(() => createConsensusMetrics(registry))
    controller.abort()
    await consensus.close()
  })
})
