// Charts with uPlot (vendored, loaded as a classic script: window.uPlot). Equity and P&L over
// time; per market, the YES bid and ask with our fills (buys and sells) and exits marked.
// Values are converted to dollars only here, for plotting.

import { serverNow } from "./render.js";

const $ = (id) => document.getElementById(id);
let equityChart = null;
let priceChart = null;
let priceTicker = "";
let lastEquityLen = -1;
let lastPriceKey = "";

function width(el) {
  return Math.max(280, el.clientWidth || 600);
}

function dots(stroke, fill) {
  return { stroke, fill, width: 0, paths: () => null, points: { show: true, size: 9, stroke, fill } };
}

// An axis tick in dollars, to the cent as everywhere else on the page ("$9,999.50", not
// "$9,999.5"), and no "-$0.00" for a tick a float step left a hair below zero.
export function dollars(v) {
  const cents = Math.round(Math.abs(v) * 100);
  const text = (cents / 100).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return `${v < 0 && cents > 0 ? "-" : ""}$${text}`;
}

// Chart times in UTC, as the status console, the action log and the calibrations write them: uPlot
// draws the browser's local time by default, so outside UTC the axes disagreed with every table.
export function chartDate(ts) {
  return window.uPlot.tzDate(new Date(ts * 1000), "Etc/UTC");
}

function legendDollars(u, v) {
  return v === null || v === undefined ? "--" : dollars(v);
}

function makeEquity(el) {
  return new window.uPlot({
    width: width(el),
    height: 260,
    tzDate: chartDate,
    series: [
      {},
      { label: "portfolio value", stroke: "#4f8cff", width: 2, value: legendDollars },
      { label: "realized P&L", stroke: "#2fbf71", width: 1.5, scale: "pnl", value: legendDollars },
      { label: "unrealized P&L", stroke: "#f0a030", width: 1.5, scale: "pnl", value: legendDollars },
    ],
    axes: [
      { stroke: "#aab" },
      { stroke: "#aab", size: 86, values: (u, vals) => vals.map(dollars) },
      { side: 1, scale: "pnl", stroke: "#aab", size: 70, grid: { show: false }, values: (u, vals) => vals.map(dollars) },
    ],
  }, [[], [], [], []], el);
}

function makePrice(el) {
  return new window.uPlot({
    width: width(el),
    height: 280,
    tzDate: chartDate,
    series: [
      {},
      // A top of book holds until it changes (points are sent only on a change): drawn as steps,
      // not as slopes through prices nobody quoted.
      { label: "YES bid", stroke: "#2fbf71", width: 1.5, spanGaps: true, paths: window.uPlot.paths.stepped({ align: 1 }) },
      { label: "YES ask", stroke: "#e0564f", width: 1.5, spanGaps: true, paths: window.uPlot.paths.stepped({ align: 1 }) },
      { label: "our buys", ...dots("#4f8cff", "#4f8cff") },
      { label: "our sells / exits", ...dots("#f0a030", "#f0a030") },
    ],
    axes: [{ stroke: "#aab" }, { stroke: "#aab", size: 64, values: (u, vals) => vals.map((v) => `$${v.toFixed(3)}`) }],
  }, [[], [], [], [], []], el);
}

function equityData(state) {
  const xs = [], value = [], realized = [], unrealized = [];
  for (const p of state.equity) {
    xs.push(p.ts_ms / 1000);
    value.push(p.equity / 1e6);
    realized.push(p.realized_pnl / 1e6);
    unrealized.push(p.unrealized_pnl / 1e6);
  }
  return [xs, value, realized, unrealized];
}

// The trader's "now" to the second: the price chart's last step reaches it (redrawn each second).
function chartNow(state) {
  return Math.floor(serverNow(state) / 1000) * 1000;
}

function priceData(state, ticker, now) {
  const points = new Map(); // ts -> [bid, ask, buy, sell]
  const series = state.prices.get(ticker) || [];
  for (const p of series) {
    points.set(p.ts, [p.bid === null ? null : p.bid / 1e4, p.ask === null ? null : p.ask / 1e4, null, null]);
  }
  // The last top of book still holds (points come only on a change): its step runs on to now,
  // not stopping where it began. Only while in contact: offline, nobody knows it still holds.
  const last = series[series.length - 1];
  if (state.connected && last && now > last.ts && !points.has(now)) {
    points.set(now, [last.bid === null ? null : last.bid / 1e4, last.ask === null ? null : last.ask / 1e4, null, null]);
  }
  for (const f of state.fills) {
    if (f.ticker !== ticker) continue;
    const row = points.get(f.ts_ms) || [null, null, null, null];
    row[f.side === "bid" ? 2 : 3] = f.yes_price / 1e4; // a YES bid fill bought YES; an ask fill sold it
    points.set(f.ts_ms, row);
  }
  const ts = [...points.keys()].sort((a, b) => a - b);
  const data = [ts.map((t) => t / 1000), [], [], [], []];
  for (const t of ts) {
    const row = points.get(t);
    for (let i = 0; i < 4; i++) data[i + 1].push(row[i]);
  }
  return data;
}

// Choices are added as markets appear; a new run of the trader (its start in systems changed: the
// page reconnected to a restarted trader) has its own markets, so its first snapshot replaces the
// list, keeping the choice when that market is still there. Shared with the action log's filters.
export function dropOldRun(select, state, keep) {
  const run = state.systems ? String(state.systems.started_ms) : "";
  if (select.dataset.run === run) return;
  select.dataset.run = run;
  const chosen = select.value;
  for (const option of [...select.options]) if (option.value && !keep.has(option.value)) option.remove();
  if (chosen && !keep.has(chosen)) select.value = "";
}

function syncMarkets(state) {
  const select = $("chart-market");
  const tickers = new Set([...state.prices.keys(), ...state.fills.map((f) => f.ticker)]);
  dropOldRun(select, state, tickers);
  const have = new Set([...select.options].map((o) => o.value));
  for (const t of [...tickers].sort()) if (!have.has(t)) select.add(new Option(t, t));
  if (!select.value && select.options.length) {
    const held = [...state.positions.keys()][0];
    select.value = held || select.options[0].value;
  }
  return select.value;
}

export function updateCharts(state) {
  if (!window.uPlot) return;
  const tab = $("tab-charts");
  if (!tab.classList.contains("active")) return; // uPlot measures its container: draw when shown
  const equityEl = $("chart-equity");
  if (equityChart === null) equityChart = makeEquity(equityEl);
  if (state.equity.length !== lastEquityLen) {
    lastEquityLen = state.equity.length;
    equityChart.setData(equityData(state));
    equityEl.dataset.drawn = String(lastEquityLen); // what the chart holds: tests wait for it, not for time
  }
  const ticker = syncMarkets(state);
  const priceEl = $("chart-price");
  if (priceChart === null) priceChart = makePrice(priceEl);
  const series = state.prices.get(ticker) || [];
  const now = chartNow(state);
  const key = `${ticker}:${series.length}:${state.fills.length}:${state.connected ? now : "offline"}`;
  if (key !== lastPriceKey || ticker !== priceTicker) {
    lastPriceKey = key;
    priceTicker = ticker;
    priceChart.setData(priceData(state, ticker, now));
    priceEl.dataset.drawn = key;
  }
  const w = width(equityEl);
  if (equityChart.width !== w) equityChart.setSize({ width: w, height: 260 });
  if (priceChart.width !== w) priceChart.setSize({ width: w, height: 280 });
}

window.addEventListener("resize", () => { lastEquityLen = -1; lastPriceKey = ""; });
