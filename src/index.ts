// Pulumi's entry point. Pulumi calls the exported function and uses what it
// returns as the stack outputs.
import { main } from "./main";

export = main;
