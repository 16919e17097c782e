/**
 * The prom-client implementation of ConsensusMetrics, registered in the registry it is given (no
 * global registry). Build it once per node and hand the same object to each epoch's Consensus:
 * registering the same names twice in one registry throws.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

import type { ConsensusMetrics } from './interface.ts'

/** Commit latency buckets, seconds: a round trip of the DAG is ~0.1–0.5 s; past 10 s is a stall. */
export const COMMIT_LATENCY_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30]

export function createConsensusMetrics(registry: Registry): ConsensusMetrics {
  const round = new Gauge({
    name: 'fleek_consensus_round',
    help: 'The last round this node proposed a header for.',
    registers: [registry],
  })
  const certificates = new Counter({
    name: 'fleek_consensus_certificates_total',
    help: 'Certificates added to the DAG, by origin (own: formed here from the votes for our header).',
    labelNames: ['origin'],
    registers: [registry],
  })
  const subDags = new Counter({
    name: 'fleek_consensus_committed_subdags_total',
    help: 'Committed sub-DAGs (one per committed anchor).',
    registers: [registry],
  })
  const committedCertificates = new Counter({
    name: 'fleek_consensus_committed_certificates_total',
    help: 'Certificates ordered by the commits.',
    registers: [registry],
  })
  const committedBatches = new Counter({
    name: 'fleek_consensus_committed_batches_total',
    help: 'Batches ordered by the commits.',
    registers: [registry],
  })
  const latency = new Histogram({
    name: 'fleek_consensus_commit_latency_seconds',
    help: "Seconds from a batch of this node's sealed (its first transaction in) to its commit.",
    buckets: COMMIT_LATENCY_BUCKETS,
    registers: [registry],
  })
  return {
    observeRound: (r) => round.set(r),
    certificateAdded: (own) => certificates.inc({ origin: own ? 'own' : 'peer' }),
    subDagCommitted: (c, b) => {
      subDags.inc()
      committedCertificates.inc(c)
      committedBatches.inc(b)
    },
    observeCommitLatency: (s) => latency.observe(s),
  }
}
