/** Named defaults of `hotpath bench`; every option documents which one it falls back to. */

/** Concurrent connections kept open by the load generator. */
export const DEFAULT_CONNECTIONS = 50
/** Measured duration of one run. */
export const DEFAULT_DURATION = '10s'
/** Warm-up before the measured run; its requests are not counted. */
export const DEFAULT_WARMUP = '2s'
/** Requests in flight per connection. */
export const DEFAULT_PIPELINING = 1
/** A request without a response after this long counts as a timeout. */
export const DEFAULT_TIMEOUT = '10s'
/** wrk threads; one keeps the client on one core so the server gets the other. */
export const DEFAULT_WRK_THREADS = 1
/** Path of the wrk binary (Debian package `wrk`). */
export const DEFAULT_WRK_PATH = '/usr/bin/wrk'
/** Seed of the key samplers, so that two runs send the same sequence of keys. */
export const DEFAULT_SEED = 42
/** Zipf exponent used when `--dist zipf` gives none. */
export const DEFAULT_ZIPF_S = 1
/** Hot set: this fraction of the keys... */
export const DEFAULT_HOT_FRACTION = 0.1
/** ...receives this fraction of the requests. */
export const DEFAULT_HOT_WEIGHT = 0.9
/** Length of the pre-sampled request sequence handed to wrk (cycled by each thread). */
export const DEFAULT_WRK_SEQUENCE_LENGTH = 20_000
/** At most this many distinct URLs are primed for `If-None-Match` replay. */
export const DEFAULT_PRIME_LIMIT = 5_000
/** Interleaved rounds of a comparison. */
export const DEFAULT_ROUNDS = 5
/** Client CPU use (fraction of one core) above which the load generator is called saturated. */
export const CLIENT_SATURATION_THRESHOLD = 0.9
/** Percentiles reported and charted (as percentages). */
export const REPORTED_PERCENTILES: readonly number[] = [50, 75, 90, 97.5, 99, 99.9, 99.99]
/**
 * The seed chapter's table of key metrics (section 7.2): requests/s > 1000, average < 100 ms,
 * p99 < 500 ms, error rate < 0.1 %.
 */
export const DEFAULT_BUDGET = 'rps>1000,avg<100ms,p99<500ms,errors<0.1%'
