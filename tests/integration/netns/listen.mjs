// A TCP listener for namespace tests: answers each line with "<line> from <remote address>".
// Usage: node listen.mjs <port>
import { createServer } from "node:net";

const port = Number(process.argv[2]);
createServer((socket) => {
  socket.setEncoding("utf8");
  let buffered = "";
  socket.on("data", (chunk) => {
    buffered += chunk;
    let i;
    while ((i = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      socket.write(`${line} from ${socket.remoteAddress}\n`);
    }
  });
  socket.on("error", () => {});
}).listen(port, "0.0.0.0", () => process.stdout.write("listening\n"));
