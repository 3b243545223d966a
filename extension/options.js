// Options and first-run page.
import { loadBrokers } from "./lib/brokers.js";

void loadBrokers();
