/** What the commands that send transactions share: the signing key, sending, waiting, printing. */
import { Flags } from '@oclif/core'

import type { RpcClient } from '../client/rpc.ts'
import { type ReceiptJson, type SendResult, sendTransaction } from '../client/transactions.ts'
import { FleekError } from '../lib/errors.ts'
import type { SecretKey } from '../lib/keys/index.ts'
import type { MethodCall } from '../lib/tx/index.ts'
import { openKeystore } from './keys.ts'
import { existingPassphrase, passphraseFlags } from './passphrase.ts'
import { rpcClient, rpcFlags } from './node-flags.ts'

export const txFlags = {
  ...rpcFlags,
  wait: Flags.boolean({
    summary: 'Wait for the receipt (--no-wait prints the transaction hash and returns).',
    default: true,
    allowNo: true,
  }),
  timeout: Flags.integer({ summary: 'Seconds to wait for the receipt.', default: 30, min: 1, max: 600 }),
  ...passphraseFlags,
}

/** Loads the account or node key of the home, asking for the passphrase when it is encrypted. */
export async function signingKey(
  homeDir: string,
  kind: 'account' | 'node',
  flags: { 'passphrase-file'?: string | undefined; keychain: boolean },
  notice: (line: string) => void,
): Promise<SecretKey> {
  const { home, keystore } = openKeystore(homeDir)
  const passphrase = keystore.isEncrypted(kind)
    ? await existingPassphrase({
        passphraseFile: flags['passphrase-file'],
        keychain: flags.keychain,
        home: home.dir,
        notice,
        what: `the ${kind} key`,
      })
    : undefined
  return keystore.load(kind, passphrase !== undefined ? { passphrase } : {})
}

/** Sends, waits, and turns a failed receipt into a REJECTED error (exit 10) that carries the receipt. */
export async function submit(
  rpc: RpcClient,
  key: SecretKey,
  call: MethodCall,
  flags: { wait: boolean; timeout: number },
): Promise<SendResult> {
  const result = await sendTransaction(rpc, key, call, { wait: flags.wait, timeoutMs: flags.timeout * 1000 })
  const r = result.receipt
  if (r !== undefined && r.status !== 'success')
    throw new FleekError(
      'REJECTED',
      `${call.method} ${r.status}: ${r.reason ?? 'no reason given'} (tx ${result.txHash})`,
      {
        details: { txHash: result.txHash, receipt: r },
      },
    )
  return result
}

export function describeReceipt(txHash: string, r: ReceiptJson | undefined): string {
  if (r === undefined) return `submitted ${txHash}`
  return `${r.method ?? 'transaction'} ${r.status}${r.reason ? ` (${r.reason})` : ''} at height ${r.height} · tx ${txHash}`
}

/** The whole of a transaction command: load the key, send, wait, print one line, return the result. */
export async function sendAndReport(
  command: { home: string; notice: (line: string) => void; log: (line: string) => void },
  flags: {
    rpc?: string | undefined
    wait: boolean
    timeout: number
    'passphrase-file'?: string | undefined
    keychain: boolean
  },
  kind: 'account' | 'node',
  call: MethodCall,
): Promise<SendResult> {
  const key = await signingKey(command.home, kind, flags, command.notice)
  const result = await submit(rpcClient(command.home, flags.rpc), key, call, flags)
  command.log(describeReceipt(result.txHash, result.receipt))
  return result
}
