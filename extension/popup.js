// Action popup.
import { loadBrokers } from "./lib/brokers.js";

const status = document.getElementById("status");
loadBrokers().then((b) => {
  status.textContent = b.length ? "No pending requests." : "No broker paired yet.";
});
