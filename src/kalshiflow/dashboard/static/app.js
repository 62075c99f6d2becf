// The dashboard page: one WebSocket, one state object, views rendered from it.
// On connect the server sends a full snapshot, then messages as they happen; a fresh snapshot also
// arrives whenever this page fell behind. Every message is checked against the served JSON Schemas
// before it touches the state. When the connection drops the page keeps what it shows, marks
// itself offline and reconnects with backoff (a restarted trader sends a new snapshot).

import { Validator } from "./validate.js";
import { consoleLine } from "./format.js";
import { render, renderClock, setupTabs, setupFilters } from "./render.js";
import { setupControls } from "./controls.js";
import { updateCharts } from "./charts.js";

const LIVE_ORDER_STATES = new Set(["pending", "resting", "partially_filled", "unknown"]);
const KEEP_FILLS = 200;
const KEEP_ACTIONS = 500;
const KEEP_PRICES = 2000;
const KEEP_EQUITY = 3600;
// One calibration a minute: kept without a bound, a page left open for days held and re-rendered
// thousands of rows on every update. The server's snapshot sends its last 200 (HubConfig.recent).
const KEEP_CALIBRATIONS = 200;

export const state = {
  connected: false,
  snapshots: 0,
  messages: 0,
  status: null,
  console: [], // newest first, one line per status entry
  portfolio: null,
  positions: new Map(),
  orders: new Map(),
  queue: new Map(), // client_order_id -> last queue_position of a resting order (contracts ahead)
  fills: [],
  actions: [],
  counts: null,
  calibrations: [],
  systems: null,
  init: new Map(),
  stream: null,
  equity: [],
  prices: new Map(), // ticker -> [{ts, bid, ask}]
  serverTsMs: Date.now(), // the trader's clock at localTsMs (the last message stamped with it)
  localTsMs: Date.now(),
  lastControl: null,
};

let validator = null;

function applySnapshot(snap) {
  state.snapshots += 1;
  state.status = snap.status;
  state.console = snap.status.console ? snap.status.console.split("\n") : [];
  state.portfolio = snap.portfolio;
  state.positions = new Map(snap.positions.map((row) => [row.ticker, row]));
  state.orders = new Map(snap.orders.map((o) => [o.client_order_id, o]));
  state.queue = new Map(snap.queue.map((q) => [q.client_order_id, q]));
  state.fills = snap.fills.slice(-KEEP_FILLS);
  state.actions = snap.actions.slice(-KEEP_ACTIONS);
  state.counts = snap.counts;
  state.calibrations = snap.calibrations.slice(-KEEP_CALIBRATIONS);
  applySystems(snap.systems);
  state.equity = snap.equity.slice(-KEEP_EQUITY);
  state.prices = new Map();
  for (const top of snap.prices) addPrice(top);
  for (const top of snap.markets) addPrice(top);
  heardClock(snap.ts_ms);
}

function heardClock(tsMs) {
  state.serverTsMs = tsMs;
  state.localTsMs = Date.now();
}

function applySystems(systems) {
  state.systems = systems;
  state.init = new Map(systems.initialization.map((s) => [s.step, s]));
  state.stream = systems.stream;
  heardClock(systems.ts_ms);
  // The kill switch changes without a status entry (a control, a limit breached or back within):
  // every systems message carries it, so the banner never shows a stale one.
  if (state.status) state.status.kill_switch = systems.kill_switch;
}

function addPrice(top) {
  if (!state.prices.has(top.ticker)) state.prices.set(top.ticker, []);
  const series = state.prices.get(top.ticker);
  series.push({ ts: top.ts_ms, bid: top.yes_bid, ask: top.yes_ask });
  if (series.length > KEEP_PRICES) series.splice(0, series.length - KEEP_PRICES);
}

// The start of the stretch of trading once `entered` is entered, as the server's lifecycle keeps it
// (trading_since_after): a calibration keeps it, trading starts one, any other state ends it. So
// "in state" reads "trading 25m" after a periodic calibration, not "3s" as if the trader had just started.
function tradingSinceAfter(entered, atMs, tradingSinceMs) {
  if (entered === "trading") return tradingSinceMs === null || tradingSinceMs === undefined ? atMs : tradingSinceMs;
  if (entered === "calibrating") return tradingSinceMs;
  return null;
}

function applyStatus(entry) {
  state.console.unshift(consoleLine(entry));
  if (state.console.length > 500) state.console.length = 500;
  if (!state.status) return;
  if (entry.previous_state !== null) {
    state.status.previous_state = entry.previous_state;
    state.status.trading_since_ms = tradingSinceAfter(entry.state, entry.ts_ms, state.status.trading_since_ms);
    state.status.since_ms = entry.state === "trading" && state.status.trading_since_ms !== null
      ? state.status.trading_since_ms : entry.ts_ms;
  }
  state.status.state = entry.state;
  if (entry.state !== "paused") state.status.pause_reason = null;
  else if (entry.previous_state !== null) state.status.pause_reason = entry.result_text;
}

function applyPosition(event) {
  const snap = event.position;
  if (snap.position === 0) {
    state.positions.delete(snap.ticker);
    return;
  }
  const row = state.positions.get(snap.ticker) || {
    ticker: snap.ticker, exit_price: null, unrealized: null, pnl_pct_e2: null,
    to_take_profit_e2: null, to_stop_loss_e2: null,
  };
  Object.assign(row, {
    position: snap.position,
    cost_basis: snap.cost_basis,
    opened_at_ms: snap.opened_at_ms,
    realized_pnl: snap.realized_pnl,
    closing_reason: snap.closing_reason,
  });
  state.positions.set(snap.ticker, row);
}

// Exported so a test can hand the page messages as the socket would (the module is one instance).
export const HANDLERS = {
  snapshot: applySnapshot,
  trader_status: applyStatus,
  position_update: applyPosition,
  positions: (msg) => { state.positions = new Map(msg.rows.map((row) => [row.ticker, row])); },
  order_update: (msg) => {
    const order = msg.order;
    if (LIVE_ORDER_STATES.has(order.state)) state.orders.set(order.client_order_id, order);
    else {
      state.orders.delete(order.client_order_id);
      state.queue.delete(order.client_order_id);
    }
  },
  queue_position: (msg) => { state.queue.set(msg.client_order_id, msg); },
  fill: (msg) => {
    state.fills.push(msg.fill);
    if (state.fills.length > KEEP_FILLS) state.fills.shift();
  },
  portfolio: (msg) => {
    state.portfolio = msg;
    state.equity.push({ ts_ms: msg.ts_ms, equity: msg.portfolio_value, realized_pnl: msg.realized_pnl, unrealized_pnl: msg.unrealized_pnl });
    if (state.equity.length > KEEP_EQUITY) state.equity.shift();
  },
  cash: (msg) => { if (state.portfolio) state.portfolio.cash = msg.cash; },
  trader_action: (msg) => {
    state.actions.push(msg);
    if (state.actions.length > KEEP_ACTIONS) state.actions.shift();
  },
  action_counts: (msg) => { state.counts = msg; },
  calibration: (msg) => {
    state.calibrations.push(msg);
    if (state.calibrations.length > KEEP_CALIBRATIONS) state.calibrations.shift();
  },
  initialization: (msg) => { state.init.set(msg.step, msg); },
  stream: (msg) => { state.stream = msg; },
  systems: applySystems,
  market: addPrice,
  control: (msg) => { state.lastControl = msg; },
  risk_denial: () => {},
  settlement: () => {},
  book_changed: () => {},
};

let dirty = true;

function onMessage(message) {
  const data = validator.accept(message);
  if (data === null) return;
  state.messages += 1;
  HANDLERS[message.type](data);
  dirty = true;
}

// A frame is one message (the snapshot) or an array of messages sent together.
function onFrame(text) {
  const frame = JSON.parse(text);
  for (const message of Array.isArray(frame) ? frame : [frame]) onMessage(message);
}

let backoffMs = 250;

function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  ws.onopen = () => { backoffMs = 250; };
  ws.onmessage = (event) => {
    if (!state.connected) { state.connected = true; dirty = true; }
    onFrame(event.data);
  };
  ws.onclose = () => {
    state.connected = false;
    dirty = true;
    setTimeout(start, backoffMs);
    backoffMs = Math.min(5000, backoffMs * 2);
  };
}

async function start() {
  try {
    if (validator === null) {
      const response = await fetch("/api/schemas", { cache: "no-store" });
      validator = new Validator(await response.json());
      window.__kf.validator = validator;
    }
    connect();
  } catch (err) {
    state.connected = false;
    dirty = true;
    setTimeout(start, backoffMs);
    backoffMs = Math.min(5000, backoffMs * 2);
  }
}

window.__kf = { state, validator: null };
setupTabs(() => { dirty = true; });
setupFilters(() => { dirty = true; });
setupControls(state, () => { dirty = true; });
setInterval(() => {
  if (dirty) {
    dirty = false;
    render(state, validator);
  }
  updateCharts(state); // the price chart's last step runs on to now even when nothing arrives
  renderClock(state);
}, 250);
start();
