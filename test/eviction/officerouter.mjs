// Runs the office-router Worker on workerd for the Go suite beside it:
// workerd runs only under Miniflare, from Node, so the Go test starts this
// script (test/interop/lib/officerouter.mjs does the work, as for the Node
// suites). The Worker's vars come as JSON in the first argument; the
// Worker's URL is printed as one JSON line; the Worker runs until standard
// input closes. The Worker's refusals (its "upgrade refused" and "revoke
// refused" records) go to standard error as they come, one JSON line each,
// and its raw output when it stops, for failure messages.
import { startWorker } from "../interop/lib/officerouter.mjs";

const worker = await startWorker(null, JSON.parse(process.argv[2]));
process.stdout.write(JSON.stringify({ url: worker.url.href }) + "\n");

let written = 0;
const forward = () => {
  const refusals = worker.refusals();
  for (; written < refusals.length; written++) process.stderr.write(JSON.stringify(refusals[written]) + "\n");
};
const ticker = setInterval(forward, 20);

const stop = async () => {
  clearInterval(ticker);
  forward();
  process.stderr.write(worker.logs());
  await worker.stop();
  process.exit(0);
};
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
