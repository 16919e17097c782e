import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, test } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { isFleekError } from '../../../../src/lib/errors.ts'
import {
  AccountKeyCache,
  computeAccountAddress,
  computeDigestOfEncodedPayload,
  computeTransactionDigest,
  decodeTransaction,
  decodeTransactionParts,
  encodePayload,
  encodeTransaction,
  getAccountPublicKey,
  getNodePublicKey,
  normalizeAddress,
  signTransaction,
  toChecksumAddress,
  verifyTransaction,
  type MethodCall,
  type Transaction,
  type TransactionPayload,
} from '../../../../src/lib/tx/index.ts'
import { deriveKey } from '../../../../src/lib/b3/index.ts'

const secret = (label: string) => new Uint8Array(createHash('sha256').update(label).digest())
const accountSecret = secret('account a')
const address = computeAccountAddress(getAccountPublicKey(accountSecret))
const nodeSecret = secret('node a')
const nodePk = getNodePublicKey(nodeSecret)
const bytes32 = (n: number) => new Uint8Array(32).fill(n)
const ports = {
  primary: 1,
  worker: 2,
  mempool: 3,
  rpc: 4,
  pool: 5,
  pinger: 6,
  handshakeHttp: 7,
  handshakeWebrtc: 8,
  handshakeWebtransport: 65535,
}

/** The args of a Stake that registers a node. */
const registration = {
  amount: 1n,
  node: bytes32(1),
  consensusKey: new Uint8Array(48).fill(2),
  consensusKeyProof: new Uint8Array(96).fill(3),
  host: 'h',
  ports,
}

/** One call of every method, with every optional field somewhere. */
const accountCalls: MethodCall[] = [
  { method: 'Transfer', args: { to: '0x' + '11'.repeat(20), token: 'flk', amount: 10n ** 30n } },
  { method: 'Transfer', args: { to: '0x' + '22'.repeat(20), token: 'usd', amount: 1n } },
  {
    method: 'Stake',
    args: {
      amount: 5n,
      node: bytes32(1),
      consensusKey: new Uint8Array(48).fill(2),
      consensusKeyProof: new Uint8Array(96).fill(3),
      host: '10.0.0.1',
      ports,
    },
  },
  { method: 'Stake', args: { amount: 5n, node: bytes32(1) } },
  { method: 'StakeLock', args: { node: bytes32(1), lockedForEpochs: 30 } },
  { method: 'Unstake', args: { node: bytes32(1), amount: 3n } },
  { method: 'WithdrawUnstaked', args: { node: bytes32(1) } },
  { method: 'WithdrawUnstaked', args: { node: bytes32(1), recipient: '0x' + '33'.repeat(20) } },
  { method: 'AddService', args: { serviceId: 7, owner: '0x' + '44'.repeat(20), commodityType: 'gpu' } },
  { method: 'ChangeProtocolParam', args: { param: 'committeeSize', value: 9 } },
  { method: 'IncrementNonce', args: {} },
  { method: 'Faucet', args: { token: 'usd', amount: 1_000_000n } },
]
const nodeCalls: MethodCall[] = [
  { method: 'OptIn', args: {} },
  { method: 'OptOut', args: {} },
  { method: 'ChangeEpoch', args: { epoch: 12 } },
  {
    method: 'SubmitReputationMeasurements',
    args: { measurements: [{ node: bytes32(3), latencyMs: 20, uptimePercent: 99 }, { node: bytes32(4) }] },
  },
  {
    method: 'SubmitDeliveryAcknowledgmentAggregation',
    args: { serviceId: 0, commodity: 1000n, proofs: [new Uint8Array([1, 2])], metadata: new Uint8Array([9]) },
  },
  {
    method: 'UpdateContentRegistry',
    args: {
      updates: [
        { uri: bytes32(5), remove: false },
        { uri: bytes32(6), remove: true },
      ],
    },
  },
  { method: 'IncrementNonce', args: {} },
]

function accountPayload(call: MethodCall, nonce = 1): TransactionPayload {
  return { sender: { account: address }, nonce, chainId: 1337, ...call } as TransactionPayload
}
function nodePayload(call: MethodCall, nonce = 1): TransactionPayload {
  return { sender: { node: nodePk }, nonce, chainId: 1337, ...call } as TransactionPayload
}
const signAccountTx = (p: TransactionPayload) =>
  signTransaction(p, { kind: 'account', secret: accountSecret })
const signNodeTx = (p: TransactionPayload) => signTransaction(p, { kind: 'node', secret: nodeSecret })

const toHexString = (b: Uint8Array) => Buffer.from(b).toString('hex')

function throwsInvalid(fn: () => unknown, pattern?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isFleekError(err, 'INVALID_INPUT'), `expected INVALID_INPUT, got ${String(err)}`)
    if (pattern !== undefined) assert.match((err as Error).message, pattern)
    return true
  })
}

describe('transaction encoding', () => {
  test('every method round-trips through encode/decode, signed by the right key type, and verifies', () => {
    for (const [calls, toPayload, sign] of [
      [accountCalls, accountPayload, signAccountTx],
      [nodeCalls, nodePayload, signNodeTx],
    ] as const) {
      for (const call of calls) {
        const tx = sign(toPayload(call, 42))
        const bytes = encodeTransaction(tx)
        const back = decodeTransaction(bytes)
        assert.deepEqual(back, tx, call.method)
        assert.ok(verifyTransaction(back), call.method)
        assert.deepEqual(encodeTransaction(back), bytes)
      }
    }
  })

  test('decodeTransactionParts: the payload bytes inside a transaction are encodePayload(payload), for every method', () => {
    const check = (tx: Transaction) => {
      const bytes = encodeTransaction(tx)
      const { tx: back, payloadBytes } = decodeTransactionParts(bytes)
      assert.deepEqual(back, tx)
      assert.equal(toHexString(payloadBytes), toHexString(encodePayload(tx.payload)), tx.payload.method)
      assert.deepEqual(computeDigestOfEncodedPayload(payloadBytes), computeTransactionDigest(tx.payload))
    }
    for (const call of accountCalls) check(signAccountTx(accountPayload(call, 42)))
    for (const call of nodeCalls) check(signNodeTx(nodePayload(call, 42)))
    // Sizes around the CBOR length boundaries of the payload (23/24, 255/256, 65535/65536 bytes).
    fc.assert(
      fc.property(fc.nat({ max: 70_000 }), fc.nat(), fc.boolean(), (size, nonce, asNode) => {
        const metadata = new Uint8Array(size).fill(size & 0xff)
        const call: MethodCall = {
          method: 'SubmitDeliveryAcknowledgmentAggregation',
          args: { serviceId: 1, commodity: BigInt(nonce), proofs: [], metadata },
        }
        const payload = asNode ? nodePayload(call, nonce) : accountPayload(call, nonce)
        check(asNode ? signNodeTx(payload) : signAccountTx(payload))
      }),
      { seed: 5, numRuns: 40 },
    )
    throwsInvalid(() => decodeTransactionParts(new Uint8Array([0xa2])))
  })

  test('the digest is deriveKey("fleek-network transaction v1", dagcbor(payload)) with amounts as strings', () => {
    const payload = accountPayload(accountCalls[0])
    const expected = deriveKey(
      'fleek-network transaction v1',
      dagCbor.encode({
        sender: { account: address },
        nonce: 1,
        chainId: 1337,
        method: 'Transfer',
        args: { to: '0x' + '11'.repeat(20), token: 'flk', amount: (10n ** 30n).toString() },
      }),
    )
    assert.deepEqual(computeTransactionDigest(payload), expected)
    assert.deepEqual(encodePayload(payload), dagCbor.encode(dagCbor.decode(encodePayload(payload))))
  })

  test('signatures: account 65 bytes r‖s‖v recovering the sender, node 64 bytes ed25519', () => {
    const a = signAccountTx(accountPayload(accountCalls[0]))
    assert.equal(a.signature.length, 65)
    const n = signNodeTx(nodePayload(nodeCalls[0]))
    assert.equal(n.signature.length, 64)
    assert.ok(verifyTransaction(a) && verifyTransaction(n))
  })

  test('any change to the payload or one flipped signature bit fails verification (both account rules)', () => {
    const tx = signAccountTx(accountPayload(accountCalls[0]))
    const knownKey = { accountKey: () => getAccountPublicKey(accountSecret) }
    const verifyBoth = (t: Transaction): boolean => {
      const byRecovery = verifyTransaction(t)
      const byKey = verifyTransaction(t, computeTransactionDigest(t.payload), knownKey)
      // A flipped bit of v never lands on another of 0, 1, 27, 28: the rules agree on all of these.
      if ('account' in t.payload.sender) assert.equal(byKey, byRecovery)
      return byRecovery
    }
    assert.ok(verifyBoth(tx))
    assert.equal(verifyBoth({ ...tx, payload: { ...tx.payload, nonce: 2 } }), false)
    assert.equal(verifyBoth({ ...tx, payload: { ...tx.payload, chainId: 1 } }), false)
    const ntx = signNodeTx(nodePayload(nodeCalls[2]))
    assert.equal(
      verifyTransaction({ ...ntx, payload: { ...ntx.payload, sender: { node: bytes32(9) } } }),
      false,
    )
    fc.assert(
      fc.property(fc.boolean(), fc.nat(), fc.nat(7), (useNode, byteIndex, bit) => {
        const t = useNode ? ntx : tx
        const signature = t.signature.slice()
        signature[byteIndex % signature.length] ^= 1 << bit
        return !verifyBoth({ ...t, signature })
      }),
      { seed: 42, numRuns: 200 },
    )
  })

  test('the malleable twin of an account signature (s → n − s) is refused', () => {
    const tx = signAccountTx(accountPayload(accountCalls[0]))
    const n = secp256k1.Point.CURVE().n
    const s = BigInt('0x' + Buffer.from(tx.signature.subarray(32, 64)).toString('hex'))
    const twin = tx.signature.slice()
    twin.set(Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex'), 32)
    twin[64] = tx.signature[64] === 27 ? 28 : 27
    assert.equal(verifyTransaction({ ...tx, signature: twin }), false)
    assert.ok(verifyTransaction(tx))
    // Against the known key too, with either v.
    const knownKey = { accountKey: () => getAccountPublicKey(accountSecret) }
    const digest = computeTransactionDigest(tx.payload)
    assert.equal(verifyTransaction({ ...tx, signature: twin }, digest, knownKey), false)
    twin[64] = tx.signature[64]
    assert.equal(verifyTransaction({ ...tx, signature: twin }, digest, knownKey), false)
    assert.ok(verifyTransaction(tx, digest, knownKey))
  })

  test('signing with a key that is not the sender’s is refused', () => {
    throwsInvalid(
      () => signTransaction(accountPayload(accountCalls[0]), { kind: 'account', secret: secret('other') }),
      /not the sender/,
    )
    throwsInvalid(() =>
      signTransaction(accountPayload(accountCalls[0]), { kind: 'node', secret: nodeSecret }),
    )
    throwsInvalid(() => signTransaction(nodePayload(nodeCalls[0]), { kind: 'node', secret: secret('other') }))
  })

  test('encode refuses payloads with wrong field types or out-of-range values', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ ...accountPayload(accountCalls[0]), nonce: -1 }, /payload.nonce/],
      [{ ...accountPayload(accountCalls[0]), nonce: 1.5 }, /payload.nonce/],
      [{ ...accountPayload(accountCalls[0]), chainId: 2 ** 32 }, /payload.chainId/],
      [{ ...accountPayload(accountCalls[0]), method: 'Mint' }, /payload.method/],
      [{ ...accountPayload(accountCalls[0]), sender: { account: address.toUpperCase() } }, /sender.account/],
      [accountPayload({ method: 'Transfer', args: { to: '0x12', token: 'flk', amount: 1n } }), /args.to/],
      [
        accountPayload({ method: 'Transfer', args: { to: address, token: 'eth' as 'flk', amount: 1n } }),
        /args.token/,
      ],
      [
        accountPayload({ method: 'Transfer', args: { to: address, token: 'flk', amount: -1n } }),
        /args.amount/,
      ],
      [
        accountPayload({ method: 'Transfer', args: { to: address, token: 'flk', amount: 1n << 128n } }),
        /2\^128/,
      ],
      [accountPayload({ method: 'Stake', args: { amount: 1n, node: new Uint8Array(31) } }), /args.node/],
      [accountPayload({ method: 'Stake', args: { amount: 1n, node: bytes32(1), host: 'a b' } }), /args.host/],
      [
        accountPayload({
          method: 'Stake',
          args: { ...registration, consensusKeyProof: new Uint8Array(95) },
        }),
        /args.consensusKeyProof must be 96 bytes/,
      ],
      [
        accountPayload({
          method: 'Stake',
          args: { ...registration, consensusKeyProof: 'ab'.repeat(96) as unknown as Uint8Array },
        }),
        /args.consensusKeyProof must be bytes/,
      ],
      [
        accountPayload({ method: 'Stake', args: { ...registration, consensusKeyProof: undefined } }),
        /consensusKeyProof must come with args.consensusKey/,
      ],
      [
        accountPayload({ method: 'Stake', args: { ...registration, consensusKey: undefined } }),
        /consensusKeyProof must come with args.consensusKey/,
      ],
      [
        accountPayload({ method: 'ChangeProtocolParam', args: { param: 'nope' as 'nodeCount', value: 1 } }),
        /args.param/,
      ],
      [
        nodePayload({
          method: 'UpdateContentRegistry',
          args: { updates: Array(101).fill({ uri: bytes32(1), remove: false }) },
        }),
        /101 entries/,
      ],
      [{ ...nodePayload(nodeCalls[0]), extra: 1 }, /unknown field "extra"/],
      [
        nodePayload({ method: 'OptIn', args: { x: 1 } as unknown as Record<string, never> }),
        /unknown field "x"/,
      ],
    ]
    for (const [payload, pattern] of bad)
      throwsInvalid(() => encodePayload(payload as TransactionPayload), pattern)
  })

  test('decode refuses a Stake with a malformed or unpaired consensus key proof', () => {
    const tx = signAccountTx(accountPayload({ method: 'Stake', args: registration }))
    const bytes = encodeTransaction(tx)
    assert.deepEqual(decodeTransaction(bytes).payload, tx.payload)
    type Raw = { payload: { args: Record<string, unknown> }; signature: Uint8Array }
    const tamper = (edit: (args: Record<string, unknown>) => void): Uint8Array => {
      const raw = dagCbor.decode<Raw>(bytes)
      edit(raw.payload.args)
      return dagCbor.encode(raw)
    }
    throwsInvalid(
      () => decodeTransaction(tamper((a) => (a.consensusKeyProof = new Uint8Array(97)))),
      /96 bytes/,
    )
    throwsInvalid(() => decodeTransaction(tamper((a) => (a.consensusKeyProof = 7))), /must be bytes/)
    throwsInvalid(() => decodeTransaction(tamper((a) => delete a.consensusKeyProof)), /must come with/)
    throwsInvalid(() => decodeTransaction(tamper((a) => delete a.consensusKey)), /must come with/)
  })

  test('decode refuses non-canonical bytes, wrong signature lengths and oversized input', () => {
    const tx = signAccountTx(accountPayload(accountCalls[0]))
    const bytes = encodeTransaction(tx)
    throwsInvalid(() => decodeTransaction(new Uint8Array([...bytes, 0])))
    throwsInvalid(
      () =>
        decodeTransaction(
          dagCbor.encode({
            payload: dagCbor.decode<{ payload: unknown }>(bytes).payload,
            signature: new Uint8Array(64),
          }),
        ),
      /65 bytes/,
    )
    throwsInvalid(() => decodeTransaction(new Uint8Array(2 * 1024 * 1024)), /more than/)
    // The same map with its keys out of canonical order decodes in cborg, but is not canonical.
    const { payload, signature } = dagCbor.decode<{ payload: unknown; signature: Uint8Array }>(bytes)
    const signaturePart = dagCbor.encode({ signature }).subarray(1)
    const payloadPart = dagCbor.encode({ payload }).subarray(1)
    const swapped = new Uint8Array([0xa2, ...signaturePart, ...payloadPart])
    assert.deepEqual(dagCbor.decode(swapped), dagCbor.decode(bytes))
    throwsInvalid(() => decodeTransaction(swapped), /canonical/)
  })

  test('garbage never crashes decode: it returns a valid transaction or throws INVALID_INPUT', () => {
    const valid = encodeTransaction(signNodeTx(nodePayload(nodeCalls[3])))
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.tuple(fc.nat(valid.length - 1), fc.nat(255)).map(([i, v]) => {
            const b = valid.slice()
            b[i] = v
            return b
          }),
          fc.nat(valid.length).map((n) => valid.slice(0, n)),
          fc.anything().map((v) => {
            try {
              return dagCbor.encode(v)
            } catch {
              return new Uint8Array([0xff])
            }
          }),
        ),
        (bytes) => {
          try {
            const tx = decodeTransaction(bytes)
            assert.deepEqual(encodeTransaction(tx), bytes)
          } catch (err) {
            if (!isFleekError(err, 'INVALID_INPUT')) throw err
          }
        },
      ),
      { seed: 7, numRuns: 2000 },
    )
  })
})

describe('addresses', () => {
  test('secret 1 has the known Ethereum address', () => {
    const one = new Uint8Array(32)
    one[31] = 1
    assert.equal(
      computeAccountAddress(getAccountPublicKey(one)),
      '0x7e5f4552091a69125d5dfcb7b8c2659029395bdf',
    )
    assert.equal(
      toChecksumAddress('0x7e5f4552091a69125d5dfcb7b8c2659029395bdf'),
      '0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf',
    )
  })

  test('normalizeAddress accepts lower, upper and correct EIP-55, refuses a bad checksum', () => {
    const lower = '0x7e5f4552091a69125d5dfcb7b8c2659029395bdf'
    assert.equal(normalizeAddress('0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf'), lower)
    assert.equal(normalizeAddress(lower), lower)
    assert.equal(normalizeAddress('0x' + lower.slice(2).toUpperCase()), lower)
    throwsInvalid(() => normalizeAddress('0x7E5F4552091A69125d5DfCb7b8C2659029395BdF'), /checksum/)
    throwsInvalid(() => normalizeAddress('7e5f4552091a69125d5dfcb7b8c2659029395bdf'))
  })
})

describe('AccountKeyCache', () => {
  test('keeps at most maxKeys key objects, dropping the least recently used', () => {
    const cache = new AccountKeyCache(2)
    const keys = ['a', 'b', 'c'].map((label) => getAccountPublicKey(secret(label)))
    const first = cache.get(keys[0])
    cache.get(keys[1])
    assert.equal(cache.get(keys[0]), first) // a hit, and now the most recently used
    cache.get(keys[2]) // drops keys[1]
    assert.equal(cache.size, 2)
    assert.equal(cache.get(keys[0]), first)
    throwsInvalid(() => cache.get(new Uint8Array(33)))
    throwsInvalid(() => new AccountKeyCache(0))
  })
})
