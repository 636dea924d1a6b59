// A calendar heatmap in SVG: the last `weeks` weeks up to the latest day in the data, one
// column per week (Monday on top), each day's square shaded by its value.
export function render(element, data, options, sightline) {
  const values = new Map();
  for (const [day, value] of data.rows) {
    if (day && value !== null) values.set(String(day).slice(0, 10), (values.get(String(day).slice(0, 10)) || 0) + Number(value));
  }
  if (values.size === 0) {
    element.textContent = 'No days with values to show.';
    return;
  }
  const days = [...values.keys()].sort();
  const last = new Date(days[days.length - 1] + 'T00:00:00Z');
  const weeks = Math.max(1, Math.min(Number(options.weeks) || 53, 260));
  const start = new Date(last);
  start.setUTCDate(start.getUTCDate() - ((last.getUTCDay() + 6) % 7) - (weeks - 1) * 7);
  const max = Math.max(...values.values(), 1);
  const size = 12, gap = 2;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('width', String(weeks * (size + gap) + 30));
  svg.setAttribute('height', String(7 * (size + gap) + 4));
  const color = options.color || '#3aa776';
  for (let w = 0; w < weeks; w++) {
    for (let d = 0; d < 7; d++) {
      const day = new Date(start);
      day.setUTCDate(start.getUTCDate() + w * 7 + d);
      if (day > last) continue;
      const key = day.toISOString().slice(0, 10);
      const v = values.get(key);
      const rect = document.createElementNS(ns, 'rect');
      rect.setAttribute('x', String(w * (size + gap)));
      rect.setAttribute('y', String(d * (size + gap)));
      rect.setAttribute('width', String(size));
      rect.setAttribute('height', String(size));
      rect.setAttribute('rx', '2');
      rect.setAttribute('fill', v === undefined ? '#eef1f5' : color);
      rect.setAttribute('fill-opacity', v === undefined ? '1' : String(0.2 + 0.8 * (v / max)));
      const title = document.createElementNS(ns, 'title');
      title.textContent = `${key}: ${v === undefined ? 'no value' : v}`;
      rect.appendChild(title);
      if (v !== undefined) rect.addEventListener('click', () => sightline.click([key, v]));
      svg.appendChild(rect);
    }
  }
  element.innerHTML = '';
  element.appendChild(svg);
}
