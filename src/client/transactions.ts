/**
 * Building, signing and sending transactions through a node's JSON-RPC: the nonce and chain id come
 * from the node, the signature from a key held by the caller, and (unless told not to) the call waits
 * for the receipt.
 */
import { FleekError } from '../lib/errors.ts'
import { type MethodCall, type Sender, encodeTransaction, signTransaction } from '../lib/tx/index.ts'
import type { SecretKey } from '../lib/keys/index.ts'
import { ethAddress, derivePublicKey } from '../lib/keys/index.ts'
import type { RpcClient } from './rpc.ts'

export interface ReceiptJson {
  txHash: string
  height: number
  index: number
  method?: string
  status: 'success' | 'failed' | 'rejected'
  reason?: string
  newEpoch?: number
  sender?: unknown
}

export interface SendResult {
  txHash: string
  receipt?: ReceiptJson
}

/** The sender a key signs as: an account address for an account key, the public key for a node key. */
export function senderOf(key: SecretKey): Sender {
  if (key.kind === 'account') return { account: ethAddress(derivePublicKey(key)).toLowerCase() }
  if (key.kind === 'node') return { node: derivePublicKey(key) }
  throw new FleekError('USAGE', 'transactions are signed with the account key or the node key')
}

export async function sendTransaction(
  rpc: RpcClient,
  key: SecretKey,
  call: MethodCall,
  options: { wait?: boolean; timeoutMs?: number } = {},
): Promise<SendResult> {
  const sender = senderOf(key)
  const chainId = await rpc.call<number>('flk_chain_id')
  const stored =
    'account' in sender
      ? await rpc.call<number>('flk_get_nonce', { address: sender.account })
      : await rpc.call<number>('flk_get_nonce', { node: Buffer.from(sender.node).toString('hex') })
  const tx = signTransaction(
    { sender, nonce: stored + 1, chainId, ...call },
    { kind: key.kind as 'node' | 'account', secret: key.secret },
  )
  const { txHash } = await rpc.call<{ txHash: string }>('flk_send_txn', [
    Buffer.from(encodeTransaction(tx)).toString('hex'),
  ])
  if (options.wait === false) return { txHash }
  const timeoutMs = options.timeoutMs ?? 30_000
  const receipt = await rpc.call<ReceiptJson>(
    'flk_wait_receipt',
    { hash: txHash, timeoutMs },
    { timeoutMs: timeoutMs + 5000 },
  )
  return { txHash, receipt }
}
