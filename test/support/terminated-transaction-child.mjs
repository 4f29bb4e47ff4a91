// Run as a child process by test/operations/postgres-driver-patch.test.ts, because the defect it shows kills
// the process: a transaction whose connection the server terminates mid-statement. Arguments: the driver's
// entry file and a database URL. Prints the transaction's outcome and a query on the same pool afterwards.
const [driverEntry, url] = process.argv.slice(2);
const { default: postgres } = await import(driverEntry);
const sql = postgres(url, { max: 1, onnotice: () => {} });
const admin = postgres(url, { max: 1, onnotice: () => {} });
let backendPid = null;
const outcome = sql
  .begin(async (tx) => {
    [{ pid: backendPid }] = await tx`select pg_backend_pid() as pid`;
    await tx`select pg_sleep(5)`;
  })
  .then(() => 'committed', (error) => `rejected ${error.code}`);
while (backendPid === null) await new Promise((resolve) => setTimeout(resolve, 10));
await admin`select pg_terminate_backend(${backendPid})`;
const [after] = await sql`select 1 as one`;
console.log(JSON.stringify({ transaction: await outcome, after: after.one }));
await Promise.all([sql.end({ timeout: 1 }), admin.end({ timeout: 1 })]);
