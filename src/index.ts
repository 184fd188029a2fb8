/**
 * Hotpath: the public API. This file is curated by hand; what is not exported here is internal.
 */
export { HotpathError, InvalidOptionError } from './errors.js'
export { parseDuration, type Duration } from './util/duration.js'
