export type WalletPattern = 'uniform' | 'hot';

export const WALLET_PATTERNS: readonly WalletPattern[] = ['uniform', 'hot'];

/**
 * Who pays whom in the next transfer. `uniform`: two distinct users at random. `hot`: the first user is one
 * side of every transfer, receiving or sending at random, so every posting locks its wallet.
 */
export function pickPair<User>(pattern: WalletPattern, users: readonly User[], random: () => number = Math.random): [sender: User, recipient: User] {
  if (users.length < 2) throw new Error('a transfer needs two users');
  const pick = (count: number) => Math.floor(random() * count);
  if (pattern === 'hot') {
    const hot = users[0] as User;
    const other = users[1 + pick(users.length - 1)] as User;
    return random() < 0.5 ? [hot, other] : [other, hot];
  }
  const senderIndex = pick(users.length);
  const recipientOffset = pick(users.length - 1);
  const recipientIndex = recipientOffset >= senderIndex ? recipientOffset + 1 : recipientOffset;
  return [users[senderIndex] as User, users[recipientIndex] as User];
}
