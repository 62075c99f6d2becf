// Display formatting of the exact integer units the server sends (never arithmetic on floats of
// money): money in $0.000001, prices in $0.0001, counts in 0.01 contract, percentages in 0.01 %.

// A count beside a noun, "1 message", "2 messages" (irregular nouns pass their plural): as
// textfmt.plural writes it on the server, so the page and the terminal never read "1 messages".
export function plural(n, noun, pluralForm) {
  return `${n} ${n === 1 ? noun : pluralForm || `${noun}s`}`;
}

function groupThousands(digits) {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

// Money (units of $0.000001) as "$1,234.56" (cents, rounded half away from zero).
export function money(e6) {
  if (e6 === null || e6 === undefined) return "–";
  const negative = e6 < 0;
  const cents = Math.floor((Math.abs(e6) + 5000) / 10000);
  const whole = Math.floor(cents / 100);
  const frac = String(cents % 100).padStart(2, "0");
  return `${negative && cents ? "-" : ""}$${groupThousands(String(whole))}.${frac}`;
}

// Signed money: "+$1.23", "-$1.23", and "$0.00" (no sign) for anything that rounds to zero cents.
export function signedMoney(e6) {
  if (e6 === null || e6 === undefined) return "–";
  return (e6 >= 5000 ? "+" : "") + money(e6);
}

// A fee (units of $0.000001) to the hundredth of a cent, "$0.0043", rounded half up: a maker fee on
// one contract is a fraction of a cent, and to the cent it read "$0.00" though it was charged.
export function fee(e6) {
  if (e6 === null || e6 === undefined) return "–";
  const negative = e6 < 0;
  const e4 = Math.floor((Math.abs(e6) + 50) / 100);
  const text = `$${groupThousands(String(Math.floor(e4 / 10000)))}.${String(e4 % 10000).padStart(4, "0")}`;
  return negative && e4 ? `-${text}` : text;
}

// Price (units of $0.0001) as "$0.5600".
export function price(e4) {
  if (e4 === null || e4 === undefined) return "–";
  return `$${Math.floor(e4 / 10000)}.${String(e4 % 10000).padStart(4, "0")}`;
}

// A signed price move (units of $0.0001) as "+$0.0300", "-$0.0010", "$0.0000".
export function signedPrice(e4) {
  if (e4 === null || e4 === undefined) return "–";
  const sign = e4 > 0 ? "+" : e4 < 0 ? "-" : "";
  return sign + price(Math.abs(e4));
}

// Count (units of 0.01 contract) as "12.00", signed when asked.
export function count(e2, signed = false) {
  if (e2 === null || e2 === undefined) return "–";
  const abs = Math.abs(e2);
  const text = `${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
  if (e2 < 0) return `-${text}`;
  return signed && e2 > 0 ? `+${text}` : text;
}

// Hundredths of a percent as "+12.34%".
export function pct(e2) {
  if (e2 === null || e2 === undefined) return "–";
  const abs = Math.abs(e2);
  const sign = e2 < 0 ? "-" : "+";
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}%`;
}

export function duration(ms) {
  if (ms === null || ms === undefined || ms < 0) return "–";
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${m % 60}m`;
}

// The status console's clock: "03:44:02 PM" in UTC, as the server's console lines write it.
export function consoleStamp(tsMs) {
  const d = new Date(tsMs);
  let h = d.getUTCHours();
  const suffix = h >= 12 ? "PM" : "AM";
  h = h % 12 || 12;
  const two = (n) => String(n).padStart(2, "0");
  return `${two(h)}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${suffix}`;
}

export function clock(tsMs) {
  if (!tsMs) return "–";
  return new Date(tsMs).toISOString().slice(11, 19);
}

// One status console line, exactly as StatusEntry.console_line writes it on the server.
export function consoleLine(entry) {
  let duration = "";
  if (entry.duration_ms !== null) {
    const tenths = Math.floor((entry.duration_ms + 50) / 100); // as the server: integer, half up
    duration = ` (${Math.floor(tenths / 10)}.${tenths % 10}s)`;
  }
  return `${consoleStamp(entry.ts_ms)}  ${entry.status.padEnd(36)} ${entry.result_text}${duration}`;
}
