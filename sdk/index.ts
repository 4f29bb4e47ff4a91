export { createEcoCoinClient, EcoCoinError, type EcoCoinClient, type EcoCoinClientOptions, type EcoCoinErrorCode, type GraphQLErrorEntry, type SubscriptionEvent } from './client.js';
// Every operation of sdk/operations as a typed document (RegisterDocument, PriceUpdatedDocument, …), with its types.
export * from './generated/graphql.js';
