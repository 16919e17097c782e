// Committee thresholds: for every size, two quorums share an honest member, a quorum can form with f
// members silent, and a quorum meets every set of f+1 supporters (the Bullshark commit rule).
import assert from 'node:assert/strict'
import { test } from 'node:test'

import {
  computeMaxFaulty,
  computeQuorumThreshold,
  computeValidityThreshold,
} from '../../../../src/node/consensus/index.ts'

test('quorum thresholds are safe and live for committees of 1 to 100', () => {
  for (let n = 1; n <= 100; n++) {
    const f = computeMaxFaulty(n)
    const q = computeQuorumThreshold(n)
    const v = computeValidityThreshold(n)
    assert.ok(2 * q - n >= f + 1, `n=${n}: two quorums of ${q} share fewer than f+1=${f + 1}`)
    assert.ok(q <= n - f, `n=${n}: a quorum of ${q} cannot form with ${f} silent`)
    assert.ok(q + v > n, `n=${n}: a quorum of ${q} can miss all ${v} supporters of an anchor`)
  }
  // The sizes a devnet runs with.
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7].map((n) => computeQuorumThreshold(n)),
    [1, 2, 3, 3, 4, 5, 5],
  )
})
