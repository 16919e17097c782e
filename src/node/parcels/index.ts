/** Parcels and attestations: how nodes outside the committee follow the chain (DESIGN §4). */
export * from './messages.ts'
export {
  ParcelProducer,
  PRODUCER_ORDER_TABLE,
  PRODUCER_TABLE,
  defaultParcelProducerOptions,
  type ExecutedBlock,
  type ParcelHead,
  type ParcelProducerOptions,
  type ProducedParcel,
  writeProducerHead,
} from './producer.ts'
export {
  FOLLOWER_TABLE,
  ParcelFollower,
  defaultParcelFollowerOptions,
  type ParcelFollowerDeps,
  type ParcelFollowerOptions,
  writeFollowerHead,
} from './follower.ts'
export {
  ParcelService,
  defaultParcelServiceOptions,
  type ParcelNetwork,
  type ParcelServiceDeps,
  type ParcelServiceOptions,
} from './service.ts'
