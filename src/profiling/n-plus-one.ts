/** A query shape a request ran suspiciously often. */
export interface NPlusOneFinding {
  shape: string
  count: number
}

/**
 * Query shapes run more than `threshold` times, most frequent first. Feed it the per-request
 * counts a {@link RequestContext} collects after `trackQueryShapes()`.
 *
 * @example
 * findNPlusOne(new Map([['select * from posts where user_id = ?', 50]]), 10)
 * // [{ shape: 'select * from posts where user_id = ?', count: 50 }]
 */
export function findNPlusOne(shapes: ReadonlyMap<string, number>, threshold: number): NPlusOneFinding[] {
  const findings: NPlusOneFinding[] = []
  for (const [shape, count] of shapes) if (count > threshold) findings.push({ shape, count })
  return findings.sort((a, b) => b.count - a.count)
}
