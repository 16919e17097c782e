// Shared by the network tests: fixed node keys, bounded waits, recording handlers.
import '../../../../bin/polyfill.js'

import { createHash, createPrivateKey } from 'node:crypto'

import { FleekError } from '../../../../src/lib/errors.ts'
import type { ConsensusHandler, PeerKey } from '../../../../src/node/network/index.ts'

export interface TestNodeKey {
  seed: Uint8Array
  publicKey: Uint8Array
  peerKey: PeerKey
}

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

/** The ed25519 key of test node `label` (a fixed seed: sha256 of the label). */
export function makeNodeKey(label: string): TestNodeKey {
  const seed = new Uint8Array(createHash('sha256').update(`fleek-network-test ${label}`).digest())
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  })
  const jwk = key.export({ format: 'jwk' })
  const publicKey = new Uint8Array(Buffer.from(jwk.x as string, 'base64url'))
  return { seed, publicKey, peerKey: Buffer.from(publicKey).toString('hex') }
}

/** Polls `predicate` every few ms until true; rejects naming `what` after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Repeats `attempt` (then polls 200 ms) until `predicate` holds; rejects after `timeoutMs`. */
export async function retryUntil(
  attempt: () => Promise<unknown>,
  predicate: () => boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    await attempt()
    const until = Date.now() + 200
    while (Date.now() < until) {
      if (predicate()) return
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
  }
}

/** A consensus stand-in that records what arrives and answers requests with the bytes reversed. */
export class RecordingConsensus implements ConsensusHandler {
  readonly messages: { from: PeerKey; text: string }[] = []
  readonly requests: { from: PeerKey; text: string }[] = []

  async handleMessage(from: PeerKey, bytes: Uint8Array): Promise<void> {
    const text = Buffer.from(bytes).toString()
    if (text === 'throw') throw new Error('handler failure')
    if (text === 'invalid') throw new FleekError('INVALID_INPUT', 'not a consensus message')
    this.messages.push({ from, text })
  }

  async handleRequest(from: PeerKey, bytes: Uint8Array): Promise<Uint8Array> {
    const text = Buffer.from(bytes).toString()
    this.requests.push({ from, text })
    if (text === 'refuse') throw new Error('cannot answer')
    return Uint8Array.from(bytes).reverse()
  }

  textsFrom(from: PeerKey): string[] {
    return this.messages.filter((m) => m.from === from).map((m) => m.text)
  }
}
