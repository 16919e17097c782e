import { NodeHome } from '../home.ts'
import { Blockstore, type BlockstoreDeps } from './blockstore.ts'

/** Opens the blockstore of the node home `homeDir` as its config says (`[blockstore] dir, max_size_bytes`). */
export function openHomeBlockstore(homeDir: string, deps: BlockstoreDeps = {}): Blockstore {
  const home = new NodeHome(homeDir)
  const config = home.loadConfig()
  home.ensure()
  return Blockstore.open(
    { dir: home.path(config.blockstore.dir), maxSizeBytes: config.blockstore.maxSizeBytes },
    deps,
  )
}
