import { Args, Flags } from '@oclif/core'

import { FleekCommand } from '../../cli/base-command.ts'
import { openKeystore } from '../../cli/keys.ts'
import { existingPassphrase } from '../../cli/passphrase.ts'
import { nodeFlag, targetNode } from '../../cli/stake.ts'
import { rpcClient } from '../../cli/node-flags.ts'
import { describeReceipt, submit, txFlags } from '../../cli/tx.ts'
import type { SendResult } from '../../client/transactions.ts'
import { parseTokenAmount } from '../../lib/amount.ts'
import type { RpcClient } from '../../client/rpc.ts'
import { FleekError, isFleekError } from '../../lib/errors.ts'
import { formatNodeKey } from '../../lib/ids.ts'
import { derivePublicKey, proveConsensusKey, type KeyKind, type SecretKey } from '../../lib/keys/index.ts'
import { NodeHome, defaultNodePorts } from '../../node/index.ts'

export default class StakeAdd extends FleekCommand<typeof StakeAdd> {
  static override summary =
    'Stake FLK on a node from this home’s account (the first stake registers the node).'
  static override description =
    'The first stake on this home’s own node registers it with its node and consensus keys, a proof of possession of the consensus key (so the consensus key is unlocked too, with the account key’s passphrase), --host (default 127.0.0.1) and the configured RPC port. Later stakes only top up: they unlock the account key alone, and announce a new address only when --host is given. Staking on another node (--node) that is not registered yet needs --consensus-key, --consensus-key-proof (that node’s `fleek keys show --consensus-key-proof`) and --host.'
  static override examples = [
    '<%= config.bin %> stake add 1000',
    '<%= config.bin %> stake add 250.5 --node 69GGL62knE8R9dzBzjXiGG5Y8wvgJ2auZ9jTVT29oc9u --json',
  ]
  static override args = {
    amount: Args.string({ description: 'FLK to stake, decimals allowed.', required: true }),
  }
  static override flags = {
    ...nodeFlag,
    'consensus-key': Flags.string({
      summary: 'BLS consensus public key (96 hex digits), to register another node.',
    }),
    'consensus-key-proof': Flags.string({
      summary: 'Proof of possession of --consensus-key (192 hex digits), from that node’s home.',
    }),
    host: Flags.string({
      summary:
        'Host or IP the node is reachable at: to register it (default 127.0.0.1), or to announce a new one.',
    }),
    ...txFlags,
  }

  async run(): Promise<SendResult> {
    const amount = parseTokenAmount(this.args.amount, 'flk')
    const node = targetNode(this.home, this.flags.node)
    const keyFlag = this.flags['consensus-key']
    const proofFlag = this.flags['consensus-key-proof']
    if ((keyFlag === undefined) !== (proofFlag === undefined))
      throw new FleekError(
        'USAGE',
        keyFlag === undefined
          ? '--consensus-key-proof goes with --consensus-key'
          : '--consensus-key needs --consensus-key-proof (run `fleek keys show --consensus-key-proof` on that node’s home)',
      )
    const rpc = rpcClient(this.home, this.flags.rpc)
    let registration: { consensusKey: Uint8Array; consensusKeyProof: Uint8Array } | undefined
    let unlock: (kind: KeyKind) => Promise<SecretKey>
    if (keyFlag !== undefined && proofFlag !== undefined) {
      registration = {
        consensusKey: parseHex(keyFlag, 48, '--consensus-key', 'a BLS12-381 G1 public key'),
        consensusKeyProof: parseHex(proofFlag, 96, '--consensus-key-proof', 'a BLS12-381 G2 signature'),
      }
      unlock = this.#unlocker('the account key')
    } else if (node.own && !(await isRegistered(rpc, node.key))) {
      // Only a registration proves possession of the consensus key: only then is it unlocked.
      unlock = this.#unlocker('the account and consensus keys')
      const consensus = await unlock('consensus')
      registration = {
        consensusKey: derivePublicKey(consensus),
        consensusKeyProof: proveConsensusKey(consensus),
      }
    } else unlock = this.#unlocker('the account key')
    const announce = registration !== undefined || (node.own && this.flags.host !== undefined)
    const rpcPort = new NodeHome(this.home).loadConfig().rpc.port
    const key = await unlock('account')
    const result = await submit(
      rpc,
      key,
      {
        method: 'Stake',
        args: {
          amount,
          node: node.key,
          ...registration,
          ...(announce && {
            host: this.flags.host ?? '127.0.0.1',
            ports: { ...defaultNodePorts, rpc: rpcPort },
          }),
        },
      },
      this.flags,
    )
    this.log(describeReceipt(result.txHash, result.receipt))
    return result
  }

  /** Loads keys of the home, asking for the passphrase (of `what`) once for all the encrypted ones. */
  #unlocker(what: string): (kind: KeyKind) => Promise<SecretKey> {
    const { home, keystore } = openKeystore(this.home)
    let passphrase: string | undefined
    return async (kind) => {
      if (!keystore.isEncrypted(kind)) return keystore.load(kind)
      passphrase ??= await existingPassphrase({
        passphraseFile: this.flags['passphrase-file'],
        keychain: this.flags.keychain,
        home: home.dir,
        notice: (line) => this.notice(line),
        what,
      })
      return keystore.load(kind, { passphrase })
    }
  }
}

/** Whether `key` is in the node registry (a first stake registers it, later ones top it up). */
async function isRegistered(rpc: RpcClient, key: Uint8Array): Promise<boolean> {
  try {
    await rpc.call('flk_get_node_info', [formatNodeKey(key)])
    return true
  } catch (err) {
    if (isFleekError(err, 'NOT_FOUND')) return false
    throw err
  }
}

function parseHex(text: string, bytes: number, flag: string, what: string): Uint8Array {
  if (!new RegExp(`^[0-9a-fA-F]{${2 * bytes}}$`).test(text))
    throw new FleekError('INVALID_INPUT', `${flag} must be ${2 * bytes} hex digits (${what})`)
  return Uint8Array.from(Buffer.from(text, 'hex'))
}
