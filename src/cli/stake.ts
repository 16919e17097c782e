/** The node a stake command acts on: --node, else this home's own node. */
import { Flags } from '@oclif/core'

import { parseNodeKey } from '../lib/ids.ts'
import { ownNodeKey } from './identity.ts'

export const nodeFlag = {
  node: Flags.string({ summary: 'Node public key (base58 or hex; default: this home’s node).' }),
}

export function targetNode(homeDir: string, flag: string | undefined): { key: Uint8Array; own: boolean } {
  return flag !== undefined
    ? { key: parseNodeKey(flag), own: false }
    : { key: ownNodeKey(homeDir), own: true }
}
