// Starts fauxqs (an SQS/SNS/S3 emulator) on 127.0.0.1 only: node fauxqs_server.mjs PORT
// Its CLI (startFauxqs) hardcodes host 0.0.0.0, so the Fastify app is built and bound here.
// Without buildApp's `host` option, queue URLs use the request's Host (127.0.0.1:PORT)
// instead of sqs.<region>.localhost, which does not resolve on every machine.
// scripts/compat copies this file next to its node_modules, so that "fauxqs" resolves.
import { buildApp } from "fauxqs";

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error("usage: node fauxqs_server.mjs PORT");
  process.exit(2);
}
const app = buildApp({ logger: false });
await app.listen({ host: "127.0.0.1", port });
console.log(`fauxqs listening on http://127.0.0.1:${port}`);

async function stop() {
  await app.close();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
