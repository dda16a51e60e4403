// Holds one TCP connection open and exchanges a line every 100 ms for a while.
// Exit 0 when every line got its answer on the same connection, 1 otherwise.
// Usage: node hold.mjs <host> <port> <durationMs>
import { connect } from "node:net";

const [host, port, duration] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const socket = connect({ host, port });
let sent = 0;
let answered = 0;
let timer;
socket.setEncoding("utf8");
socket.on("connect", () => {
  process.stdout.write("connected\n");
  timer = setInterval(() => {
    if (sent > answered + 5) {
      process.stdout.write(`stalled: sent ${sent}, answered ${answered}\n`);
      process.exit(1);
    }
    socket.write(`line ${sent++}\n`);
  }, 100);
  setTimeout(() => {
    clearInterval(timer);
    setTimeout(() => {
      process.stdout.write(`sent ${sent}, answered ${answered}\n`);
      process.exit(answered === sent ? 0 : 1);
    }, 500);
  }, duration);
});
socket.on("data", (d) => (answered += d.split("\n").filter((l) => l.startsWith("line ")).length));
socket.on("close", () => {
  process.stdout.write(`closed after ${answered} answers\n`);
  process.exit(1);
});
socket.on("error", (e) => {
  process.stdout.write(`error ${e.code}\n`);
  process.exit(1);
});
