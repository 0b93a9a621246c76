// Shared by the player and teacher pages: escaping, requests, and small SVG line charts.
"use strict";

function esc(text) {
  return String(text).replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
}

async function api(path, body, token) {
  const headers = {"Content-Type": "application/json"};
  if (token) headers["Authorization"] = "Bearer " + token;
  const response = await fetch(path, body === undefined ? {headers} : {method: "POST", headers, body: JSON.stringify(body)});
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function socketUrl(path) {
  return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
}

const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

// series: [{name, values, colour?, width?}] over weeks 1..n; returns an SVG string with a legend.
function lineChart(series, opts) {
  opts = opts || {};
  const w = opts.width || 420, h = opts.height || 180, pad = 30;
  const n = Math.max(1, ...series.map(s => s.values.length));
  const top = Math.max(1, ...series.flatMap(s => s.values));
  const x = i => pad + (w - pad - 8) * (n === 1 ? 0.5 : i / (n - 1));
  const y = v => h - pad + 10 - (h - pad - 6) * v / top;
  let svg = `<svg class="chart" viewBox="0 0 ${w} ${h + 18}" width="100%" role="img"><title>${esc(opts.title || "")}</title>`;
  if (opts.title) svg += `<text x="${w - 8}" y="10" text-anchor="end" font-size="11" fill="#555">${esc(opts.title)}</text>`;
  svg += `<line x1="${pad}" y1="${y(0)}" x2="${w - 8}" y2="${y(0)}" stroke="#999"/>`;
  svg += `<text x="2" y="${y(top) + 4}" font-size="10">${Math.round(top)}</text><text x="2" y="${y(0)}" font-size="10">0</text>`;
  series.forEach((s, k) => {
    if (!s.values.length) return;
    const pts = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    svg += `<polyline fill="none" stroke="${s.colour || COLOURS[k % COLOURS.length]}" stroke-width="${s.width || 1.6}" points="${pts}"/>`;
  });
  let lx = pad;
  series.forEach((s, k) => {
    svg += `<rect x="${lx}" y="${h + 6}" width="10" height="3" fill="${s.colour || COLOURS[k % COLOURS.length]}"/>`;
    svg += `<text x="${lx + 13}" y="${h + 11}" font-size="10">${esc(s.name)}</text>`;
    lx += 24 + 6.5 * s.name.length;
  });
  return svg + "</svg>";
}

function money(x) { return Number(x).toFixed(2); }
