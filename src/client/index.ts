// The client library: talk to a node over JSON-RPC and send signed transactions.
export { RpcClient, type RpcClientOptions } from './rpc.ts'
export { type ReceiptJson, type SendResult, sendTransaction, senderOf } from './transactions.ts'
