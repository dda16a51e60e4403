// Connects, sends "hello", prints the answer. Exit 0 on an answer, 1 on refusal or timeout.
// Usage: node probe.mjs <host> <port> <timeoutMs>
import { connect } from "node:net";

const [host, port, timeout] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] ?? 1500)];
const socket = connect({ host, port, timeout });
const fail = (why) => {
  process.stdout.write(`${why}\n`);
  process.exit(1);
};
socket.setEncoding("utf8");
socket.on("connect", () => socket.write("hello\n"));
socket.on("data", (d) => {
  process.stdout.write(d);
  process.exit(0);
});
socket.on("timeout", () => fail("timeout"));
socket.on("error", (e) => fail(e.code ?? "error"));
