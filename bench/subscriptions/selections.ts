/**
 * What subscribers ask of each MCO2 price. A uniform crowd asks the first; a mixed crowd is spread evenly over
 * all ten, so the gateway sees ten different documents for one upstream event. Each names where the price's value
 * lands in the result (`alias`), which is how a client process reads a tick's identity off a `next` message.
 */
export interface Selection {
  /** The selection set of `priceUpdated(symbol: MCO2)`, as written in the document. */
  fields: string;
  /** The response key the value arrives under. */
  valueKey: string;
}

export const SELECTIONS: readonly Selection[] = [
  { fields: '{ value }', valueKey: 'value' },
  { fields: '{ value symbol }', valueKey: 'value' },
  { fields: '{ value vs }', valueKey: 'value' },
  { fields: '{ value observedAt }', valueKey: 'value' },
  { fields: '{ value stale }', valueKey: 'value' },
  { fields: '{ value source }', valueKey: 'value' },
  { fields: '{ symbol value observedAt }', valueKey: 'value' },
  { fields: '{ v: value }', valueKey: 'v' },
  { fields: '{ price: value stale }', valueKey: 'price' },
  { fields: '{ value symbol vs source observedAt stale }', valueKey: 'value' },
];

export const subscriptionDocument = (selection: Selection) => `subscription { priceUpdated(symbol: MCO2) ${selection.fields} }`;

/** How many distinct selections a crowd of this kind uses. */
export const selectionCountOf = (kind: 'uniform' | 'mixed') => (kind === 'uniform' ? 1 : SELECTIONS.length);

/** The selection of the subscriber at `index` (over the whole crowd, across client processes): round-robin, so evenly spread. */
export const selectionOf = (selectionCount: number, index: number): Selection => SELECTIONS[index % selectionCount] as Selection;
