import { Args, Flags } from '@oclif/core'

import { FleekCommand } from '../../cli/base-command.ts'
import { openKeystore } from '../../cli/keys.ts'
import { existingPassphrase } from '../../cli/passphrase.ts'
import { nodeFlag, targetNode } from '../../cli/stake.ts'
import { rpcClient } from '../../cli/node-flags.ts'
import { describeReceipt, submit, txFlags } from '../../cli/tx.ts'
import type { SendResult } from '../../client/transactions.ts'
import { parseTokenAmount } from '../../lib/amount.ts'
import { FleekError } from '../../lib/errors.ts'
import { derivePublicKey, proveConsensusKey, type KeyKind, type SecretKey } from '../../lib/keys/index.ts'
import { NodeHome, defaultNodePorts } from '../../node/index.ts'

export default class StakeAdd extends FleekCommand<typeof StakeAdd> {
  static override summary =
    'Stake FLK on a node from this home’s account (the first stake registers the node).'
  static override description =
    'Staking on this home’s own node registers it with its node and consensus keys, a proof of possession of the consensus key (so the consensus key is unlocked too, with the account key’s passphrase), --host and the configured RPC port. Staking on another node (--node) that is not registered yet needs --consensus-key, --consensus-key-proof (that node’s `fleek keys show --consensus-key-proof`) and --host.'
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
      summary: 'Host or IP the node is reachable at, to register it.',
      default: '127.0.0.1',
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
    const unlock = this.#unlocker()
    let registration: { consensusKey: Uint8Array; consensusKeyProof: Uint8Array } | undefined
    if (keyFlag !== undefined && proofFlag !== undefined) {
      registration = {
        consensusKey: parseHex(keyFlag, 48, '--consensus-key', 'a BLS12-381 G1 public key'),
        consensusKeyProof: parseHex(proofFlag, 96, '--consensus-key-proof', 'a BLS12-381 G2 signature'),
      }
    } else if (node.own) {
      const consensus = await unlock('consensus')
      registration = {
        consensusKey: derivePublicKey(consensus),
        consensusKeyProof: proveConsensusKey(consensus),
      }
    }
    const rpcPort = new NodeHome(this.home).loadConfig().rpc.port
    const key = await unlock('account')
    const result = await submit(
      rpcClient(this.home, this.flags.rpc),
      key,
      {
        method: 'Stake',
        args: {
          amount,
          node: node.key,
          ...(registration !== undefined
            ? { ...registration, host: this.flags.host, ports: { ...defaultNodePorts, rpc: rpcPort } }
            : {}),
        },
      },
      this.flags,
    )
    this.log(describeReceipt(result.txHash, result.receipt))
    return result
  }

  /** Loads keys of the home, asking for the passphrase once for all the encrypted ones. */
  #unlocker(): (kind: KeyKind) => Promise<SecretKey> {
    const { home, keystore } = openKeystore(this.home)
    let passphrase: string | undefined
    return async (kind) => {
      if (!keystore.isEncrypted(kind)) return keystore.load(kind)
      passphrase ??= await existingPassphrase({
        passphraseFile: this.flags['passphrase-file'],
        keychain: this.flags.keychain,
        home: home.dir,
        notice: (line) => this.notice(line),
        what: 'the account and consensus keys',
      })
      return keystore.load(kind, { passphrase })
    }
  }
}

function parseHex(text: string, bytes: number, flag: string, what: string): Uint8Array {
  if (!new RegExp(`^[0-9a-fA-F]{${2 * bytes}}$`).test(text))
    throw new FleekError('INVALID_INPUT', `${flag} must be ${2 * bytes} hex digits (${what})`)
  return Uint8Array.from(Buffer.from(text, 'hex'))
}
