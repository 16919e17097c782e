import { Flags } from '@oclif/core'
import { join } from 'node:path'

import { FleekCommand } from '../../cli/base-command.ts'
import { existingPassphrase, newPassphrase, passphraseFlags } from '../../cli/passphrase.ts'
import { generateKey } from '../../lib/keys/index.ts'
import { Keystore, NodeHome, createLogger, keyKinds, startNode } from '../../node/index.ts'

export default class NodeRun extends FleekCommand<typeof NodeRun> {
  static override summary = 'Run a Fleek Network node (a single-node devnet when nothing is configured).'
  static override description =
    'With an empty home it creates the config and keys (plaintext unless a passphrase is given through FLEEK_KEY_PASSPHRASE or --passphrase-file) and a single-node devnet genesis — this node staked, the whole committee, faucet on — and starts. --genesis joins the network of that genesis file. On a terminal it shows a live dashboard and logs to <home>/logs/node.log; otherwise it writes JSON log lines to stdout. SIGINT/SIGTERM stop it cleanly; a second signal forces.'
  static override examples = [
    '<%= config.bin %> node run',
    '<%= config.bin %> node run --home ./node1 --rpc-port 4241',
    '<%= config.bin %> node run --genesis ./genesis.toml --bootstrap /ip4/10.0.0.1/tcp/4310/p2p/12D3KooW…',
    '<%= config.bin %> node run --no-dashboard | jq -c .',
  ]
  static override flags = {
    genesis: Flags.string({ summary: 'Genesis file of the network to join.' }),
    'rpc-address': Flags.string({ summary: 'Address for the JSON-RPC server (default 127.0.0.1).' }),
    'rpc-port': Flags.integer({
      summary: 'Port for the JSON-RPC server (default 4240; 0 = any free port).',
      min: 0,
      max: 65535,
    }),
    listen: Flags.string({ summary: 'libp2p listen address (multiaddr); repeatable.', multiple: true }),
    bootstrap: Flags.string({
      summary: 'Peer to dial at start (multiaddr with /p2p/<peer id>); repeatable.',
      multiple: true,
    }),
    'log-level': Flags.string({
      summary: 'Least severe log level written.',
      options: ['trace', 'debug', 'info', 'warn', 'error', 'fatal'],
    }),
    sync: Flags.string({
      summary: 'How to catch up when behind: checkpoint (restore the latest signed state) or full (replay).',
      options: ['checkpoint', 'full'],
    }),
    dashboard: Flags.boolean({
      summary: 'Show the live dashboard on a terminal.',
      default: true,
      allowNo: true,
    }),
    ...passphraseFlags,
  }

  async run(): Promise<{ stopped: true; height: number; stateRoot: string }> {
    const home = new NodeHome(this.home)
    const config = home.loadConfig({
      'application.genesis': this.flags.genesis,
      'rpc.address': this.flags['rpc-address'],
      'rpc.port': this.flags['rpc-port'],
      'network.listen': this.flags.listen,
      'network.bootstrap': this.flags.bootstrap,
      'log.level': this.flags['log-level'],
      'sync.mode': this.flags.sync,
    })
    const sources = {
      passphraseFile: this.flags['passphrase-file'],
      keychain: this.flags.keychain || config.keystore.keychain,
      home: home.dir,
      notice: (l: string) => this.notice(l),
    }
    const keystore = new Keystore({ dir: home.path(config.keystore.dir) })
    let passphrase: string | undefined
    if (keystore.present().length === 0) {
      // Nothing configured: a working node out of the box.
      home.ensure()
      if (home.readConfigText() === undefined) home.writeDefaultConfig()
      const given = process.env.FLEEK_KEY_PASSPHRASE || this.flags['passphrase-file'] !== undefined
      passphrase = given ? await newPassphrase({ ...sources, encrypt: true }) : undefined
      keystore.saveAll(
        keyKinds.map((kind) => generateKey(kind)),
        passphrase !== undefined ? { passphrase } : {},
      )
      this.notice(
        `Created keys in ${keystore.dir}${passphrase ? '' : ' (plaintext: use FLEEK_KEY_PASSPHRASE to encrypt)'}`,
      )
    } else if (keystore.isEncrypted('node')) {
      passphrase = await existingPassphrase({ ...sources, what: 'the node keys' })
    }

    const dashboard = this.flags.dashboard && process.stdout.isTTY === true && !this.jsonEnabled()
    const logger = createLogger({
      level: config.log.level,
      destination: dashboard || this.jsonEnabled() ? join(home.dir, 'logs', 'node.log') : 1,
    })
    const stop = new AbortController()
    let fatal: unknown
    const node = await startNode({
      home,
      config,
      ...(passphrase !== undefined ? { passphrase } : {}),
      logger,
      onFatal: (err) => {
        fatal = err
        stop.abort()
      },
    })
    let signals = 0
    const onSignal = (signal: NodeJS.Signals): void => {
      signals++
      if (signals === 1) {
        logger.info({ signal }, 'stopping')
        stop.abort()
      } else {
        logger.warn({ signal }, 'forced exit')
        logger.flush()
        process.exit(130)
      }
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    node.signal.addEventListener('abort', () => stop.abort(), { once: true })
    if (dashboard) {
      const { showDashboard } = await import('../../cli/dashboard.tsx')
      showDashboard(() => node.status(), stop.signal)
    } else this.notice(`node running: rpc ${node.rpcUrl}`)
    await new Promise<void>((resolve) =>
      stop.signal.addEventListener('abort', () => resolve(), { once: true }),
    )
    const last = { height: node.app.height(), stateRoot: Buffer.from(node.app.stateRoot()).toString('hex') }
    await node.close()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    logger.flush()
    if (fatal !== undefined) throw fatal
    return { stopped: true, ...last }
  }
}
