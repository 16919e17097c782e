import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { isFleekError } from '../../../../src/lib/errors.ts'
import { formatAmount, formatTokenAmount, parseAmount, parseTokenAmount } from '../../../../src/lib/amount.ts'

test('parses decimal strings into base units', () => {
  assert.equal(parseTokenAmount('1.5', 'flk'), 1_500_000_000_000_000_000n)
  assert.equal(parseTokenAmount('0.000001', 'usd'), 1n)
  assert.equal(parseTokenAmount('1000', 'usd'), 1_000_000_000n)
  assert.equal(parseAmount('0', 18), 0n)
  assert.equal(parseAmount('0.10', 6), 100_000n)
})

test('refuses malformed amounts with one clear line', () => {
  for (const bad of ['', '-1', '+1', '1e3', ' 1', '1.', '.5', '01', '1,5', '0x10', 'NaN', '1.5.5']) {
    assert.throws(
      () => parseTokenAmount(bad, 'flk'),
      (err: unknown) => isFleekError(err, 'INVALID_INPUT') && /decimal number/.test((err as Error).message),
      bad,
    )
  }
  assert.throws(() => parseTokenAmount('0.0000001', 'usd'), /more than 6 decimals/)
})

test('formats base units as the shortest exact decimal', () => {
  assert.equal(formatTokenAmount(1_500_000_000_000_000_000n, 'flk'), '1.5')
  assert.equal(formatTokenAmount(0n, 'flk'), '0')
  assert.equal(formatTokenAmount(1n, 'usd'), '0.000001')
  assert.equal(formatAmount(-25n, 1), '-2.5')
})

test('format then parse is the identity (property)', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.constantFrom(6, 18), (value, decimals) => {
      assert.equal(parseAmount(formatAmount(value, decimals), decimals), value)
    }),
    { seed: 3, numRuns: 500 },
  )
})
