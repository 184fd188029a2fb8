/** The upstream client's errors; they live with every other Hotpath error in `src/errors.ts`. */
export {
  UpstreamTimeoutError,
  UpstreamUnavailableError,
  UpstreamStatusError,
  UpstreamResponseTooLargeError,
  type UpstreamTimeoutPhase,
} from '../errors.js'
