/** A query at or above the dashboard's slow-query threshold. */
export interface SlowQueryFinding {
  /** Epoch milliseconds. */
  at: number
  /** SQL shape, literals redacted. */
  sql: string
  durationMs: number
  dialect: string | undefined
  /** `METHOD /route/:pattern` when the query could be attributed to a request. */
  route: string | undefined
}

/** A request that ran one query shape more often than the N+1 threshold. */
export interface NPlusOneFinding {
  at: number
  route: string
  shape: string
  count: number
}

export interface RecentFindingsSnapshot {
  slowQueries: SlowQueryFinding[]
  nPlusOne: NPlusOneFinding[]
}

/** The last few slow queries and N+1 warnings, newest first, with a version that moves on change. */
export class RecentFindings {
  private readonly slow: SlowQueryFinding[] = []
  private readonly nPlusOne: NPlusOneFinding[] = []
  /** Increases with every recorded finding. */
  version = 0

  constructor(private readonly limit: number) {}

  addSlowQuery(finding: SlowQueryFinding): void {
    this.push(this.slow, finding)
  }

  addNPlusOne(finding: NPlusOneFinding): void {
    this.push(this.nPlusOne, finding)
  }

  snapshot(): RecentFindingsSnapshot {
    return { slowQueries: [...this.slow], nPlusOne: [...this.nPlusOne] }
  }

  private push<T>(list: T[], finding: T): void {
    list.unshift(finding)
    if (list.length > this.limit) list.length = this.limit
    this.version++
  }
}
