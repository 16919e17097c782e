import { Flags } from '@oclif/core'

import { FleekCommand } from '../../cli/base-command.ts'
import { type Identities, identities, openKeystore, printIdentities } from '../../cli/keys.ts'
import { existingPassphrase, passphraseFlags } from '../../cli/passphrase.ts'
import { toHex } from '../../lib/bytes.ts'
import { FleekError } from '../../lib/errors.ts'
import { proveConsensusKey } from '../../lib/keys/index.ts'
import { NodeHome } from '../../node/index.ts'

export default class KeysShow extends FleekCommand<typeof KeysShow> {
  static override summary =
    'Show the public identities: node key and peer id, consensus key, account address.'
  static override description =
    'Reads only public keys: no passphrase is needed and nothing secret is printed. --consensus-key-proof also unlocks the consensus key to print its proof of possession, which registering this node from another home needs (`fleek stake add --node … --consensus-key … --consensus-key-proof …`).'
  static override examples = [
    '<%= config.bin %> keys show',
    '<%= config.bin %> keys show --json | jq -r .node.peerId',
    '<%= config.bin %> keys show --consensus-key-proof --json | jq -r .consensusKeyProof',
  ]
  static override flags = {
    'consensus-key-proof': Flags.boolean({
      summary: 'Also print the consensus key’s proof of possession (unlocks the consensus key).',
      default: false,
    }),
    ...passphraseFlags,
  }

  async run(): Promise<Identities & { consensusKeyProof?: string }> {
    new NodeHome(this.home).requireExisting()
    const { home, keystore } = openKeystore(this.home)
    if (keystore.present().length === 0)
      throw new FleekError(
        'NOT_FOUND',
        `no keys in ${keystore.dir} (run \`fleek init\` or \`fleek keys generate\`)`,
      )
    const ids = identities(keystore)
    printIdentities((l) => this.log(l), ids)
    if (!this.flags['consensus-key-proof']) return ids
    if (ids.consensus === undefined) throw new FleekError('NOT_FOUND', `no consensus key in ${keystore.dir}`)
    const passphrase = ids.consensus.encrypted
      ? await existingPassphrase({
          passphraseFile: this.flags['passphrase-file'],
          keychain: this.flags.keychain,
          home: home.dir,
          notice: (line) => this.notice(line),
          what: 'the consensus key',
        })
      : undefined
    const proof = toHex(
      proveConsensusKey(keystore.load('consensus', passphrase !== undefined ? { passphrase } : {})),
    )
    this.log(`consensus proof ${proof}`)
    return { ...ids, consensusKeyProof: proof }
  }
}
