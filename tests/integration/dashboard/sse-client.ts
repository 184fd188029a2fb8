import { Agent, request } from 'undici'

export interface SseEvent {
  event: string
  data: unknown
}

/** A Server-Sent Events connection read event by event (the parts of the format the dashboard uses). */
export interface SseConnection {
  statusCode: number
  headers: Record<string, string | string[] | undefined>
  /** Comment lines (`: heartbeat`) seen so far. */
  comments: string[]
  /** The next event for which `match` holds; fails after `timeoutMs`. */
  next(match?: (event: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>
  close(): void
}

export async function connectSse(url: string, headers: Record<string, string> = {}): Promise<SseConnection> {
  // Its own connection pool: aborting a stream on the shared one leaves a spare socket that keeps
  // the server's close() waiting until its headers timeout.
  const dispatcher = new Agent({ connections: 1 })
  const controller = new AbortController()
  const response = await request(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: controller.signal,
    dispatcher,
  })
  const queue: SseEvent[] = []
  const comments: string[] = []
  let wake: (() => void) | null = null
  let buffer = ''
  let ended = false
  response.body.setEncoding('utf8')
  response.body.on('data', (chunk: string) => {
    buffer += chunk
    let end: number
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      let event = 'message'
      const data: string[] = []
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) comments.push(line.slice(1).trim())
        else if (line.startsWith('event: ')) event = line.slice('event: '.length)
        else if (line.startsWith('data: ')) data.push(line.slice('data: '.length))
      }
      if (data.length > 0) queue.push({ event, data: JSON.parse(data.join('\n')) })
    }
    wake?.()
  })
  const finish = () => {
    ended = true
    wake?.()
  }
  response.body.on('end', finish)
  response.body.on('error', finish)
  return {
    statusCode: response.statusCode,
    headers: response.headers,
    comments,
    async next(match = () => true, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const index = queue.findIndex(match)
        if (index !== -1) return queue.splice(index, 1)[0]!
        if (ended) throw new Error('the event stream ended')
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`no matching event within ${timeoutMs} ms`)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left)
          wake = () => {
            clearTimeout(timer)
            wake = null
            resolve()
          }
        })
      }
    },
    close() {
      controller.abort()
      response.body.destroy()
      void dispatcher.destroy()
    },
  }
}

/** Poll `condition` until it holds or `timeoutMs` passes. */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
