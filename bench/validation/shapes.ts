/**
 * Documents of the shapes that make a GraphQL server work hardest per byte, built to a size: the benchmark makes
 * each 64 KB, the tests use the sizes named in the issue. Each is plain text, as an attacker would send it.
 */

/** `{ price(symbol: MCO2) { ...F<n-1> } }` where each fragment spreads the one before twice: 2^n fields from n lines. */
export function fragmentBomb(fragments: number): string {
  const lines = [`{ price(symbol: MCO2) { ...F${fragments - 1} } }`, 'fragment F0 on Price { value }'];
  for (let index = 1; index < fragments; index++) lines.push(`fragment F${index} on Price { ...F${index - 1} ...F${index - 1} }`);
  return lines.join('\n');
}

/** The same field under `aliases` names: one request asking the price subgraph `aliases` times. */
export function aliasFlood(aliases: number): string {
  return `{ ${Array.from({ length: aliases }, (_, index) => `p${index}: price(symbol: MCO2) { value }`).join(' ')} }`;
}

/** One field asked `fields` times in one selection: graphql's overlap check compares them pairwise. */
export function repeatedFields(fields: number): string {
  return `{ price(symbol: MCO2) { ${'value '.repeat(fields)}} }`;
}

/** A document of about `tokens` tokens that asks for almost nothing: a variable's default list of zeros. */
export function tokenFlood(tokens: number): string {
  return `query Flood($n: [Int!] = [${'0 '.repeat(Math.max(0, tokens - 20))}]) { price(symbol: MCO2) { value } }`;
}

/** `directives` inline fragments, each under `@include(if: true)`. */
export function directivesFlood(directives: number): string {
  return `{ price(symbol: MCO2) { ${'... @include(if: true) { value } '.repeat(directives)}} }`;
}

/** `me { wallets { owner { wallets { … } } } }`, `levels` fields deep. */
export function deepNesting(levels: number): string {
  const pairs = Math.max(1, Math.floor((levels - 1) / 2));
  return `{ me { ${'wallets { owner { '.repeat(pairs)}id${' } }'.repeat(pairs)} } }`;
}

export const SHAPES = { fragmentBomb, aliasFlood, repeatedFields, tokenFlood, directivesFlood, deepNesting } as const;
export type ShapeName = keyof typeof SHAPES;

/** Each shape at the largest count that stays within `bytesMax`, found by doubling then halving the count. */
export function shapeOfSize(shape: ShapeName, bytesMax: number): { count: number; document: string } {
  const build = SHAPES[shape];
  let low = 1;
  let high = 2;
  while (Buffer.byteLength(build(high)) <= bytesMax) [low, high] = [high, high * 2];
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (Buffer.byteLength(build(middle)) <= bytesMax) low = middle;
    else high = middle;
  }
  return { count: low, document: build(low) };
}
