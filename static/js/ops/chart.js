// chart.js: the staff dashboard's small charts as numbers: a bar per minute for the
// messages of the last minutes, and a line per room. Coordinates are an SVG viewBox's
// (y grows downwards). Pure: no DOM, so node can test it.

const round = (value) => Math.round(value * 100) / 100;

/** Return a round top for a scale of counts, at least `max`: 1, 2, 5, 10, 20, 50, 100... */
export function niceCeiling(max) {
  if (!Number.isFinite(max) || max <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) {
    if (step * power >= max) return step * power;
  }
  return 10 * power;
}

function largest(values) {
  return values.reduce((top, value) => (value > top ? value : top), 0);
}

/**
 * Lay out one bar per value across a `width` x `height` box, the scale's top at the box's
 * top: {ceiling, bars: [{index, value, x, y, width, height}]}. A value of 0 has no height.
 */
export function barLayout(values, { width, height, gap = 1 }) {
  const ceiling = niceCeiling(largest(values));
  const slot = width / Math.max(1, values.length);
  const bars = values.map((value, index) => {
    const barHeight = (Math.max(0, value) / ceiling) * height;
    return {
      index,
      value,
      x: round(index * slot + gap / 2),
      y: round(height - barHeight),
      width: round(Math.max(0, slot - gap)),
      height: round(barHeight),
    };
  });
  return { ceiling, bars };
}

/**
 * Return the `points` of an SVG polyline through the values across a `width` x `height`
 * box: the first value at the left edge, the last at the right, `ceiling` (by default the
 * values' own round top) at the top.
 */
export function sparklinePoints(values, { width, height, ceiling = niceCeiling(largest(values)) }) {
  if (values.length === 0) return "";
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  return values
    .map((value, index) => {
      const y = height - (Math.max(0, value) / ceiling) * height;
      return `${round(index * step)},${round(y)}`;
    })
    .join(" ");
}
