/** What the wallet-link challenges (Sign-In with Ethereum messages) name and how long they hold. */
export interface SiweSettings {
  domain: string;
  uri: string;
  challengeTtlSeconds: number;
}
