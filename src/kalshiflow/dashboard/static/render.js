// Views of the page's state: header, status console, tables, systems. Rendering builds DOM with
// textContent only (never innerHTML from data), so nothing a market or a reason says can inject.

import * as fmt from "./format.js";
import { dropOldRun } from "./charts.js";

const $ = (id) => document.getElementById(id);

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function fillRows(tbody, items, toCells) {
  const rows = items.map((item) => {
    const tr = document.createElement("tr");
    for (const td of toCells(item)) tr.appendChild(td);
    return tr;
  });
  tbody.replaceChildren(...rows);
}

function tone(value) {
  if (value === null || value === undefined || value === 0) return "";
  return value > 0 ? "up" : "down";
}

// The trader's "now", estimated from the last time it said (a snapshot or systems message, each
// stamped with its clock) and its clock's speed: under --speed its clock runs that many times
// faster than the page's, so time held, an order's age and time in state tick at its rate.
export function serverNow(state) {
  const speed = state.systems && state.systems.clock_speed > 0 ? state.systems.clock_speed : 1;
  return state.serverTsMs + (Date.now() - state.localTsMs) * speed;
}

export function setupTabs(onChange) {
  const buttons = document.querySelectorAll("#tabs button");
  for (const button of buttons) {
    button.addEventListener("click", () => {
      for (const b of buttons) b.classList.toggle("active", b === button);
      for (const section of document.querySelectorAll(".tab")) {
        section.classList.toggle("active", section.id === `tab-${button.dataset.tab}`);
      }
      onChange();
    });
  }
}

export function setupFilters(onChange) {
  $("filter-market").addEventListener("change", onChange);
  $("filter-action").addEventListener("change", onChange);
  $("copy").addEventListener("click", async () => {
    const text = $("console").textContent;
    try {
      await navigator.clipboard.writeText(text);
    } catch (err) {
      const area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    $("copied").textContent = "copied";
    setTimeout(() => { $("copied").textContent = ""; }, 1500);
  });
}

function renderHeader(state) {
  const badge = $("state");
  const status = state.status;
  // Out of contact the last state is only what the trader said before it went quiet (it may have
  // been killed): shown as such, never as the current state. "stopped" was said last by a clean stop.
  const known = status !== null && (state.connected || status.state === "stopped");
  badge.textContent = !status ? "connecting" : known ? status.state : `no contact (last: ${status.state})`;
  badge.dataset.state = !status ? "initializing" : known ? status.state : "offline";
  const p = state.portfolio;
  $("cash").textContent = p ? fmt.money(p.cash) : "–";
  $("value").textContent = p ? fmt.money(p.portfolio_value) : "–";
  $("realized").textContent = p ? fmt.signedMoney(p.realized_pnl) : "–";
  $("realized").className = p ? tone(p.realized_pnl) : "";
  $("unrealized").textContent = p ? fmt.signedMoney(p.unrealized_pnl) : "–";
  $("unrealized").className = p ? tone(p.unrealized_pnl) : "";
  // Paper or live, the policy and the exchange: whether orders go out is never left to the history.
  const mode = $("mode");
  const m = state.systems && state.systems.mode;
  mode.dataset.paper = m ? String(m.paper) : "";
  mode.textContent = m ? `${m.paper ? "PAPER (no orders sent)" : "live"} · ${m.exchange} · ${m.policy}` : "–";
  mode.title = m ? (m.paper ? "decisions are recorded, no order is sent" : "orders are sent") : "";
  const conn = $("conn");
  conn.dataset.up = String(state.connected);
  // "connected", not "live": "live" beside it is the trading mode (orders are sent).
  conn.textContent = state.connected ? "connected" : "offline";
  const banner = $("kill-banner");
  const kill = status && status.kill_switch;
  banner.hidden = !kill && !(status && status.pause_reason);
  banner.textContent = kill ? `kill switch on: ${kill}` : status && status.pause_reason ? `paused: ${status.pause_reason}` : "";
}

// What changes every second without a message: time in state, last calibration, time held, last sync ago.
export function renderClock(state) {
  const now = serverNow(state);
  if (state.status) {
    const known = state.connected || state.status.state === "stopped";
    $("since").textContent = known ? fmt.duration(now - state.status.since_ms) : "–";
  }
  // The calibrations on their own, beside the time in state (which runs on through them).
  const last = state.calibrations.length ? state.calibrations[state.calibrations.length - 1] : null;
  $("calibrated").textContent = last ? `${fmt.duration(now - (last.started_ms + last.duration_ms))} ago` : "–";
  const sync = state.systems && state.systems.last_portfolio_sync_ms;
  $("sync-ago").textContent = sync ? `${Math.max(0, Math.floor((now - sync) / 1000))} s ago` : "never";
  for (const td of document.querySelectorAll("#positions td[data-opened]")) {
    td.textContent = fmt.duration(now - Number(td.dataset.opened));
  }
}

// The exit price is the best bid of the side held: for a NO position a NO price, shown with its
// YES price (orders, fills and the price chart are in YES prices).
function exitPrice(row) {
  if (row.exit_price === null || row.exit_price === undefined || row.position >= 0) return fmt.price(row.exit_price);
  return `${fmt.price(row.exit_price)} NO (YES ${fmt.price(10000 - row.exit_price)})`;
}

// The distance to an exit rule: in pnl% under the pnl% rules, in price (the held side's exit
// price) under the price-space rules (the default); "–" when the rule is off or there is no bid.
function exitDistance(pctE2, priceE4) {
  if (pctE2 !== null && pctE2 !== undefined) return fmt.pct(pctE2);
  return fmt.signedPrice(priceE4);
}

function renderPositions(state) {
  const rows = [...state.positions.values()].sort((a, b) => a.ticker.localeCompare(b.ticker));
  $("positions-empty").hidden = rows.length > 0;
  fillRows($("positions").tBodies[0], rows, (row) => {
    const held = cell("–");
    if (row.opened_at_ms) held.dataset.opened = String(row.opened_at_ms);
    const close = document.createElement("td");
    const button = document.createElement("button");
    button.textContent = "Close";
    button.dataset.close = row.ticker;
    button.disabled = Boolean(row.closing_reason);
    close.appendChild(button);
    const closing = cell(row.closing_reason ? `closing: ${row.closing_reason}` : "", row.closing_reason ? "closing" : "");
    const tr = [
      cell(row.ticker, "ticker"),
      cell(fmt.count(row.position, true), row.position > 0 ? "yes" : "no"),
      cell(fmt.money(row.cost_basis)),
      cell(exitPrice(row), "exit"),
      cell(fmt.signedMoney(row.unrealized), tone(row.unrealized)),
      cell(fmt.pct(row.pnl_pct_e2), tone(row.pnl_pct_e2)),
      cell(exitDistance(row.to_take_profit_e2, row.to_take_profit_e4), "to-tp"),
      cell(exitDistance(row.to_stop_loss_e2, row.to_stop_loss_e4), "to-sl"),
      held,
      closing,
      close,
    ];
    return tr;
  });
  for (const tr of $("positions").tBodies[0].rows) tr.dataset.ticker = tr.cells[0].textContent;
}

function renderOrders(state) {
  const now = serverNow(state);
  const orders = [...state.orders.values()].sort((a, b) => a.created_ms - b.created_ms);
  fillRows($("orders").tBodies[0], orders, (o) => [
    cell(o.ticker, "ticker"),
    cell(o.side),
    cell(fmt.price(o.yes_price)),
    cell(fmt.count(o.count)),
    cell(fmt.count(o.filled)),
    cell(state.queue.has(o.client_order_id) ? fmt.count(state.queue.get(o.client_order_id).ahead) : "-", "ahead"),
    cell(o.state),
    cell(o.purpose),
    cell(o.close_reason || ""),
    cell(fmt.duration(now - o.created_ms)),
  ]);
  orders.forEach((o, i) => { $("orders").tBodies[0].rows[i].dataset.order = o.client_order_id; });
  $("orders-empty").hidden = orders.length > 0;
}

function renderFills(state) {
  $("fills-empty").hidden = state.fills.length > 0;
  fillRows($("fills").tBodies[0], state.fills.slice().reverse(), (f) => [
    cell(fmt.clock(f.ts_ms)),
    cell(f.ticker, "ticker"),
    cell(f.side),
    cell(fmt.price(f.yes_price)),
    cell(fmt.count(f.count)),
    cell(fmt.fee(f.fee)),
    cell(f.is_taker ? "taker" : "maker"),
  ]);
}

function syncOptions(select, values, state) {
  dropOldRun(select, state, values);
  const have = new Set([...select.options].map((o) => o.value));
  for (const value of [...values].sort()) {
    if (!have.has(value)) select.add(new Option(value, value));
  }
}

// A decision's price is in its own side's terms (BUY_NO at the NO ask); orders and fills show YES
// prices. A NO decision shows both, so it can be matched with the order and fill it made.
function actionPrice(a) {
  if (a.price === null || a.price === undefined || !a.action.endsWith("_NO")) return fmt.price(a.price);
  return `${fmt.price(a.price)} NO (YES ${fmt.price(10000 - a.price)})`;
}

function renderActions(state) {
  syncOptions($("filter-market"), new Set(state.actions.map((a) => a.ticker)), state);
  syncOptions($("filter-action"), new Set(state.actions.map((a) => a.action)), state);
  const market = $("filter-market").value;
  const action = $("filter-action").value;
  const shown = state.actions.filter((a) => (!market || a.ticker === market) && (!action || a.action === action));
  // An empty table says why: nothing yet, or nothing the filters let through.
  const empty = $("actions-empty");
  empty.hidden = shown.length > 0;
  empty.textContent = state.actions.length ? "No actions match the filters." : "No actions yet (holds are counted above, not listed).";
  fillRows($("actions").tBodies[0], shown.slice(-200).reverse(), (a) => [
    cell(fmt.clock(a.ts_ms)),
    cell(a.ticker, "ticker"),
    cell(a.action),
    cell(actionPrice(a), "price"),
    cell(fmt.count(a.size)),
    cell(a.result === "denied" ? `denied:${a.denied_by}` : a.result, a.result),
    cell(a.reason),
  ]);
  const counts = state.counts;
  $("counts").textContent = counts
    ? [`holds ${counts.holds}`, ...counts.by_result.filter(([r]) => r !== "hold").map(([r, n]) => `${r} ${n}`)].join(" · ")
    : "";
}

function renderSystems(state, validator) {
  const steps = [...state.init.values()];
  fillRows($("init").tBodies[0], steps, (s) => [
    cell(s.step),
    cell(s.state, s.state),
    cell(s.started_ms && s.finished_ms ? `${s.finished_ms - s.started_ms} ms` : ""),
    cell(s.detail),
  ]);
  const stream = state.stream;
  $("stream").textContent = stream
    ? `${stream.connected ? "connected" : "DISCONNECTED"} · gaps ${stream.gaps} · resyncs ${stream.resyncs} · invalid books ${stream.invalid_books}`
    : "–";
  const systems = state.systems;
  $("ratelimits").textContent = systems
    ? systems.rate_limits.map((r) => `${r.bucket} ${r.used_pct}%`).join(" · ") + (systems.rate_limits.length ? ` · 429s ${systems.rate_limits[0].rate_limited}` : "")
    : "–";
  $("deltas").textContent = systems ? String(systems.deltas_applied) : "–";
  $("decisions").textContent = systems ? String(systems.decisions) : "–";
  $("schema-check").textContent = validator
    ? `${fmt.plural(validator.checked, "message")}, ${validator.invalid} invalid${validator.lastProblem ? ` (${validator.lastProblem})` : ""}`
    : "–";
  fillRows($("calibrations").tBodies[0], state.calibrations.slice().reverse(), (c) => {
    const found = c.drift.filter((d) => d.is_drift).length;
    return [
      cell(fmt.clock(c.started_ms)),
      cell(c.reason),
      cell(c.ok ? "ok" : `failed: ${c.failure_reason}`, c.ok ? "ok" : "failed"),
      cell(`${c.duration_ms} ms`),
      cell(`${found} (cash ${fmt.signedMoney(c.cash_drift_e6)})`),
      cell(c.summary),
    ];
  });
}

export function render(state, validator) {
  renderHeader(state);
  $("console").textContent = state.console.join("\n");
  renderPositions(state);
  renderOrders(state);
  renderFills(state);
  renderActions(state);
  renderSystems(state, validator);
  renderClock(state);
}
