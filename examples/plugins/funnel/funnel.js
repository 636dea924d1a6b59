// A funnel: one bar per stage, as wide as its value against the first stage's, centred.
// Sightline calls render(element, data, options, sightline) inside a sandboxed frame:
// data = { columns: ["stage", "value"], rows: [[stage, value], …] } in the order the
// plugin's manifest lists its columns; sightline.click(row) asks for the drill-down.
export function render(element, data, options, sightline) {
  const rows = data.rows.filter((r) => r[1] !== null);
  const first = Number(rows[0]?.[1]) || 1;
  const max = Math.max(...rows.map((r) => Number(r[1]) || 0), 1);
  const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
  element.innerHTML = '';
  const list = document.createElement('div');
  list.style.cssText = 'display:flex;flex-direction:column;gap:6px;padding:8px';
  for (const row of rows) {
    const value = Number(row[1]) || 0;
    const line = document.createElement('div');
    line.style.cssText = 'display:grid;grid-template-columns:10rem 1fr;align-items:center;gap:8px;cursor:pointer';
    const label = document.createElement('span');
    label.textContent = row[0] ?? '(empty)';
    const track = document.createElement('div');
    track.style.cssText = 'display:flex;justify-content:center';
    const bar = document.createElement('div');
    bar.className = 'funnel-bar';
    bar.style.cssText = `width:${Math.max(2, (value / max) * 100)}%;min-width:9rem;box-sizing:border-box;background:${options.color || '#3b6fd8'};color:#fff;padding:6px 8px;border-radius:4px;text-align:center;white-space:nowrap;overflow:hidden`;
    const share = options.show_share === false ? '' : ` · ${fmt.format((value / first) * 100)} %`;
    bar.textContent = `${fmt.format(value)}${share}`;
    track.appendChild(bar);
    line.append(label, track);
    line.addEventListener('click', () => sightline.click(row));
    list.appendChild(line);
  }
  element.appendChild(list);
}
