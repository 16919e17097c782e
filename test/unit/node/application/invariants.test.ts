import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import type { MethodCall } from '../../../../src/lib/tx/index.ts'
import type { Application } from '../../../../src/node/application/index.ts'
import { EPOCH_MS, FLK, START_MS, accountTx, createNetwork, makeAccount, nodeTx } from './fixtures.ts'

/** FLK held by accounts plus FLK staked or locked in nodes. */
function countFlk(app: Application, addresses: string[]): bigint {
  let total = 0n
  for (const address of addresses) total += app.account(address).flk
  for (const node of app.nodes()) total += node.stake.staked + node.stake.locked
  return total
}

test('random transaction streams keep FLK conserved: only the faucet and rewards mint, and they count in the supply', () => {
  const op = fc.record({
    kind: fc.constantFrom('transfer', 'stake', 'unstake', 'withdraw', 'faucet', 'dack', 'epoch', 'garbage'),
    from: fc.nat(2),
    to: fc.nat(2),
    amount: fc.bigInt({ min: 0n, max: 3000n }),
  })
  fc.assert(
    fc.property(fc.array(fc.array(op, { maxLength: 6 }), { minLength: 1, maxLength: 8 }), (blocks) => {
      const net = createNetwork(1, { params: { lockTime: 1 } })
      const accounts = [net.owner, makeAccount('p'), makeAccount('q')]
      const addresses = [...accounts.map((a) => a.address)]
      const pk = net.nodes[0].publicKey
      const startFlk = countFlk(net.app, addresses)
      const startSupply = net.app.supply().total
      let time = START_MS
      for (const ops of blocks) {
        const txs = ops.map((o) => {
          const from = accounts[o.from]
          const amount = o.amount * (FLK / 10n)
          let call: MethodCall
          switch (o.kind) {
            case 'transfer':
              call = { method: 'Transfer', args: { to: accounts[o.to].address, token: 'flk', amount } }
              break
            case 'stake':
              call = { method: 'Stake', args: { amount, node: pk } }
              break
            case 'unstake':
              call = { method: 'Unstake', args: { amount, node: pk } }
              break
            case 'withdraw':
              call = { method: 'WithdrawUnstaked', args: { node: pk } }
              break
            case 'faucet':
              call = { method: 'Faucet', args: { token: 'flk', amount } }
              break
            case 'dack':
              return nodeTx(net.nodes[0], {
                method: 'SubmitDeliveryAcknowledgmentAggregation',
                args: { serviceId: 0, commodity: o.amount + 1n, proofs: [] },
              })
            case 'epoch':
              time += EPOCH_MS
              return nodeTx(net.nodes[0], {
                method: 'ChangeEpoch',
                args: { epoch: net.app.epochInfo().epoch },
              })
            default:
              return new Uint8Array([o.amount > 255n ? 255 : Number(o.amount)])
          }
          return accountTx(from, call)
        })
        net.run(txs, time)
        // Every account nonce matches the transactions that were not rejected.
        for (const a of accounts) assert.equal(net.app.account(a.address).nonce, a.nonce)
      }
      const mintedFlk = countFlk(net.app, addresses) - startFlk
      assert.equal(mintedFlk, net.app.supply().total - startSupply)
    }),
    { seed: 11, numRuns: 40 },
  )
})
