// Starts local-aws-sqs on 127.0.0.1 only: node local_aws_sqs_server.mjs PORT
// It is a library, not a command; its defaults (60 s before a deleted queue's name can be
// reused, DLQ targets must exist) are AWS's and are kept.
// scripts/compat copies this file next to its node_modules, so that "local-aws-sqs" resolves.
import { createSqsServer } from "local-aws-sqs";

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error("usage: node local_aws_sqs_server.mjs PORT");
  process.exit(2);
}
const server = await createSqsServer({ port, hostname: "127.0.0.1" });
console.log(`local-aws-sqs listening on http://127.0.0.1:${port}`);

function stop() {
  if (server && typeof server.close === "function") {
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  } else {
    process.exit(0);
  }
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
