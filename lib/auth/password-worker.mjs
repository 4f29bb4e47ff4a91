// Runs in a worker thread of the password pool (lib/auth/password.ts): bcrypt is pure CPU work, which here does not
// hold up the event loop that answers every other request. Plain JavaScript, so it loads the same under tsx, the
// test runner and `node --import tsx` alike.
import bcrypt from 'bcryptjs';

/** @param {{ operation: 'hash', password: string, cost: number } | { operation: 'verify', password: string, hash: string }} task */
export default function run(task) {
  return task.operation === 'hash' ? bcrypt.hashSync(task.password, task.cost) : bcrypt.compareSync(task.password, task.hash);
}
