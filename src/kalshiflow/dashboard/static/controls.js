// The operator's controls. The token is entered once and kept in sessionStorage (gone when the
// tab closes); it travels only in the X-Kalshiflow-Token header of a same-origin POST, never in a
// URL or a cookie.

const $ = (id) => document.getElementById(id);
const KEY = "kalshiflow.token";
const RUN_KEY = "kalshiflow.token.run"; // the trader run (its start, from systems) the token was saved in

function token() {
  return sessionStorage.getItem(KEY) || "";
}

function showTokenState() {
  $("token-state").textContent = token() ? "token set for this tab" : "no token: controls will be refused";
}

export async function sendControl(action, body) {
  const response = await fetch(`/api/control/${action}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-kalshiflow-token": token(),
      "x-kalshiflow-client": "dashboard",
    },
    body: JSON.stringify(body || {}),
    credentials: "omit",
  });
  let payload = {};
  try {
    payload = await response.json();
  } catch (err) {
    payload = {};
  }
  return { status: response.status, payload };
}

// The run the page is connected to: the trader's start as its systems messages say (a restarted
// trader has a new start, and a new token unless one was configured).
function currentRun(state) {
  return state.systems ? String(state.systems.started_ms) : "";
}

// A 401 with a token saved while another run of the trader was up: that token is most likely the
// old run's, so say so rather than the generic "missing or wrong".
function staleToken(state) {
  const saved = sessionStorage.getItem(RUN_KEY) || "";
  const run = currentRun(state);
  return Boolean(token()) && saved !== "" && run !== "" && saved !== run;
}

function report(state, status, payload, action) {
  const text = status === 401 && staleToken(state)
    ? `${action}: refused (401, the saved token is from a previous run of the trader: enter this run's token, printed in the trader's console at start)`
    : status === 401 ? `${action}: refused (401, token missing or wrong)`
    : status >= 400 && payload.error ? `${action}: refused (${status}, ${payload.error})`
    : `${action}: ${payload.ok ? "done" : "not done"} (${payload.detail || status})`;
  show(text, String(status));
}

// The outcome is written on the Controls tab and under the positions (where Close is clicked).
function show(text, status) {
  for (const line of document.querySelectorAll(".control-result")) {
    line.textContent = text;
    line.dataset.status = status;
  }
}

// One control from the page: "sending" at once (a close can take the exchange's time), then the
// outcome; a request that never got an answer (the trader gone, the network) says so, rather
// than leaving the previous control's outcome on show as if it were this one's.
async function run(state, action, body, label) {
  show(`${label}: sending…`, "pending");
  let answer;
  try {
    answer = await sendControl(action, body);
  } catch (err) {
    show(`${label}: no answer from the trader (${err.message || err}): it may not have been done`, "unreachable");
    return;
  }
  report(state, answer.status, answer.payload, label);
}

// Ask this trader whether it takes the token just saved (POST /api/token changes nothing), so a
// mistyped or old token is named at once rather than at the first control refused.
async function checkToken(value) {
  let status;
  try {
    const response = await fetch("/api/token", {
      method: "POST",
      headers: { "x-kalshiflow-token": value, "x-kalshiflow-client": "dashboard" },
      credentials: "omit",
    });
    status = response.status;
  } catch (err) {
    status = 0;
  }
  if (token() !== value) return; // another token was saved meanwhile
  const line = $("token-state");
  line.textContent = status === 204 ? "token set for this tab: this trader accepts it"
    : status === 401 ? "token set for this tab, but this trader refuses it (401): check it against the one run printed"
    : "token set for this tab (not checked: no answer from the trader)";
  line.dataset.check = String(status);
}

export function setupControls(state, onChange) {
  showTokenState();
  // A form, so that Enter in the field uses the token as the button does (it did nothing).
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("token").value.trim();
    if (value) {
      sessionStorage.setItem(KEY, value);
      sessionStorage.setItem(RUN_KEY, currentRun(state));
    } else {
      sessionStorage.removeItem(KEY);
      sessionStorage.removeItem(RUN_KEY);
    }
    $("token").value = "";
    showTokenState();
    if (value) checkToken(value);
  });
  for (const button of document.querySelectorAll("[data-control]")) {
    button.addEventListener("click", async () => {
      const action = button.dataset.control;
      await run(state, action, undefined, action);
      onChange();
    });
  }
  // Close buttons live in the positions table, which is re-rendered: one delegated listener.
  $("positions").addEventListener("click", async (event) => {
    const target = event.target;
    if (!(target instanceof HTMLButtonElement) || !target.dataset.close) return;
    await run(state, "close", { ticker: target.dataset.close }, `close ${target.dataset.close}`);
    onChange();
  });
}
