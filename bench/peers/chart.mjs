/**
 * A grouped bar chart as SVG text, no charting dependency: one group per
 * workload, one bar per store, each bar the store's speed relative to jetstore
 * on a log scale, drawn up from the 1× line when faster and down when slower
 * (a linear axis would flatten everything under hypercore's 0.02× or lmdb's
 * 3×). Bars beyond the axis are clipped and keep their label.
 */
import { WORKLOAD_INFO } from "./workloads.mjs";

const COLORS = ["#1f6feb", "#8250df", "#bf8700", "#1a7f37", "#cf222e", "#57606a", "#0a7d8c"];
const LOG_MIN = -2; // 0.01×
const LOG_MAX = 1; // 10×

const xmlText = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;");

export function chartSvg(summary, stores, title) {
  const ids = Object.keys(summary);
  const left = 56;
  const top = 48;
  const plotHeight = 300;
  const barWidth = 14;
  const groupWidth = stores.length * barWidth + 24;
  const width = left + ids.length * groupWidth + 16;
  const height = top + plotHeight + 84;
  const y = (log) => top + ((LOG_MAX - log) / (LOG_MAX - LOG_MIN)) * plotHeight;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${left}" y="20" font-size="14" font-weight="600">${xmlText(title)}</text>`,
    `<text x="${left}" y="36" fill="#57606a">speed relative to jetstore (log scale; above the line = faster than jetstore)</text>`,
  ];
  for (let log = LOG_MIN; log <= LOG_MAX; log++) {
    const label = `${10 ** log}×`;
    out.push(
      `<line x1="${left}" x2="${width - 16}" y1="${y(log)}" y2="${y(log)}" stroke="${log === 0 ? "#24292f" : "#d0d7de"}"/>`,
      `<text x="${left - 6}" y="${y(log) + 4}" text-anchor="end" fill="#57606a">${label}</text>`,
    );
  }
  ids.forEach((id, g) => {
    const x0 = left + g * groupWidth + 12;
    stores.forEach((store, s) => {
      const figure = summary[id][store];
      const x = x0 + s * barWidth;
      if (figure?.vsJetstore === undefined) {
        out.push(
          `<text x="${x + barWidth / 2}" y="${y(0) - 4}" text-anchor="middle" font-size="8" fill="#8c959f" transform="rotate(-90 ${x + barWidth / 2} ${y(0) - 4})">n/a</text>`,
        );
        return;
      }
      const log = Math.min(LOG_MAX, Math.max(LOG_MIN, Math.log10(figure.vsJetstore)));
      const [y1, y2] = [y(Math.max(log, 0)), y(Math.min(log, 0))];
      out.push(
        `<rect x="${x + 1}" y="${y1}" width="${barWidth - 2}" height="${Math.max(1, y2 - y1)}" fill="${COLORS[s % COLORS.length]}"><title>${xmlText(`${store} ${id}: ${figure.vsJetstore.toFixed(2)}×`)}</title></rect>`,
      );
    });
    out.push(
      `<text x="${x0 + (stores.length * barWidth) / 2}" y="${top + plotHeight + 16}" text-anchor="middle" font-weight="600">${xmlText(id)}</text>`,
      `<text x="${x0 + (stores.length * barWidth) / 2}" y="${top + plotHeight + 30}" text-anchor="middle" font-size="9" fill="#57606a">${xmlText(WORKLOAD_INFO[id].name)}</text>`,
    );
  });
  stores.forEach((store, s) => {
    const x = left + s * 130;
    const ly = top + plotHeight + 56;
    out.push(
      `<rect x="${x}" y="${ly - 9}" width="10" height="10" fill="${COLORS[s % COLORS.length]}"/>`,
      `<text x="${x + 14}" y="${ly}">${xmlText(store)}</text>`,
    );
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
