import { FleekCommand } from '../../cli/base-command.ts'
import { type Identities, identities, openKeystore, printIdentities } from '../../cli/keys.ts'
import { FleekError } from '../../lib/errors.ts'

export default class KeysShow extends FleekCommand<typeof KeysShow> {
  static override summary =
    'Show the public identities: node key and peer id, consensus key, account address.'
  static override description =
    'Reads only public keys: no passphrase is needed and nothing secret is printed.'
  static override examples = [
    '<%= config.bin %> keys show',
    '<%= config.bin %> keys show --json | jq -r .node.peerId',
  ]

  async run(): Promise<Identities> {
    const { keystore } = openKeystore(this.home)
    if (keystore.present().length === 0)
      throw new FleekError(
        'NOT_FOUND',
        `no keys in ${keystore.dir} (run \`fleek init\` or \`fleek keys generate\`)`,
      )
    const ids = identities(keystore)
    printIdentities((l) => this.log(l), ids)
    return ids
  }
}
