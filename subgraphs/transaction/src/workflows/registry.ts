import { chainDepositWorkflow } from './chain-deposit.js';
import { depositWorkflow } from './deposit.js';
import { marketSupplyWorkflow } from './market-supply.js';
import { paymentWorkflow } from './payment.js';
import { purchaseWorkflow } from './purchase.js';
import { retirementWorkflow } from './retirement.js';
import { transferWorkflow } from './transfer.js';
import type { Workflow } from './workflow.js';
import { withdrawalWorkflow } from './withdrawal.js';

/** Every workflow of the transaction subgraph: a new one is its own file and one line here. */
export const WORKFLOWS: readonly Workflow[] = [
  depositWorkflow,
  chainDepositWorkflow,
  transferWorkflow,
  paymentWorkflow,
  purchaseWorkflow,
  retirementWorkflow,
  marketSupplyWorkflow,
  withdrawalWorkflow,
];
