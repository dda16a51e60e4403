// npm run bench:density: the density tables of docs/sizing.md, printed from the model the placement check uses.
import { densityTable, masterTable } from "./table";

console.log("## Projects per worker\n");
console.log(densityTable());
console.log("\n## The master's memory for N Studios\n");
console.log(masterTable());
