// Shared by the player, teacher and projector pages: escaping, requests, and small SVG line charts.
"use strict";

function esc(text) {
  return String(text).replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
}

async function api(path, body, token, method) {
  const headers = {"Content-Type": "application/json"};
  if (token) headers["Authorization"] = "Bearer " + token;
  const response = await fetch(path, body === undefined ? {headers, method: method || "GET"} : {method: method || "POST", headers, body: JSON.stringify(body)});
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function socketUrl(path) {
  return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
}

// The address the class joins at: the server's public one where it knows it, else this page's own.
function joinAddress(game) {
  return game.join_url || `${location.origin}/?code=${game.code}`;
}

// One colour per site everywhere (echelon.play.PALETTE, filled in by the server): colour-blind safe, each at
// least 3:1 against white. Customer demand is black and dashed.
const PALETTE = __PALETTE__;
const DEMAND = {colour: "#000", width: 2.2, dash: "5 3"};

function siteSeries(sites, column) {
  return sites.map((s, i) => ({name: s, values: column(i), colour: PALETTE[i % PALETTE.length]}));
}

function cumulative(values) { let sum = 0; return values.map(v => (sum += v)); }

// series: [{name, values, colour?, width?, dash?}] over weeks 1..n; returns an SVG string with a legend.
// Negative values (backorders as negative net inventory) go below a zero line.
function lineChart(series, opts) {
  opts = opts || {};
  const w = opts.width || 420, h = opts.height || 180, pad = 30;
  const n = Math.max(1, ...series.map(s => s.values.length));
  const top = Math.max(1, ...series.flatMap(s => s.values));
  const bottom = Math.min(0, ...series.flatMap(s => s.values));
  const x = i => pad + (w - pad - 8) * (n === 1 ? 0.5 : i / (n - 1));
  const y = v => h - pad + 10 - (h - pad - 6) * (v - bottom) / (top - bottom);
  let svg = `<svg class="chart" viewBox="0 0 ${w} ${h + 18}" width="100%" role="img"><title>${esc(opts.title || "")}</title>`;
  if (opts.title) svg += `<text x="${w - 8}" y="10" text-anchor="end" font-size="11" fill="#333">${esc(opts.title)}</text>`;
  svg += `<line x1="${pad}" y1="${y(0)}" x2="${w - 8}" y2="${y(0)}" stroke="#777"/>`;
  svg += `<text x="2" y="${y(top) + 4}" font-size="10">${Math.round(top)}</text><text x="2" y="${y(0)}" font-size="10">0</text>`;
  if (bottom < 0) svg += `<text x="2" y="${y(bottom)}" font-size="10">${Math.round(bottom)}</text>`;
  series.forEach((s, k) => {
    if (!s.values.length) return;
    const pts = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    svg += `<polyline fill="none" stroke="${s.colour || PALETTE[k % PALETTE.length]}" stroke-width="${s.width || 1.8}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""} points="${pts}"/>`;
  });
  let lx = pad, ly = h + 6;
  series.forEach((s, k) => {
    const step = 24 + 6.5 * s.name.length;
    if (lx + step > w && lx > pad) { lx = pad; ly += 12; }
    svg += `<rect x="${lx}" y="${ly}" width="10" height="3" fill="${s.colour || PALETTE[k % PALETTE.length]}"/>`;
    svg += `<text x="${lx + 13}" y="${ly + 5}" font-size="10">${esc(s.name)}</text>`;
    lx += step;
  });
  return svg.replace(`viewBox="0 0 ${w} ${h + 18}"`, `viewBox="0 0 ${w} ${ly + 12}"`) + "</svg>";
}

function money(x) { return Number(x).toFixed(2); }

// The class chart of the teacher's page and the projector: each team's cost so far, week by week.
// teams: [{team, weekly: [cost of each week]}].
function classChart(teams, width, height) {
  return teams.length ? lineChart(teams.map((t, k) => ({name: `team ${t.team}`, values: cumulative(t.weekly),
    colour: PALETTE[k % PALETTE.length]})), {title: "team cost so far, by week", width, height}) : "";
}
