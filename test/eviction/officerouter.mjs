// Runs the office-router Worker on workerd for the Go suite beside it:
// workerd runs only under Miniflare, from Node, so the Go test starts this
// script (test/interop/lib/officerouter.mjs does the work, as for the Node
// suites). The Worker's vars come as JSON in the first argument; the
// Worker's URL is printed as one JSON line; the Worker runs until standard
// input closes. Its output goes to standard error, for failure messages.
import { startWorker } from "../interop/lib/officerouter.mjs";

const worker = await startWorker(null, JSON.parse(process.argv[2]));
process.stdout.write(JSON.stringify({ url: worker.url.href }) + "\n");

const stop = async () => {
  process.stderr.write(worker.logs());
  await worker.stop();
  process.exit(0);
};
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
