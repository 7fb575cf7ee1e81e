/** The download progress line on stderr: bytes, rate and time left. */
import type { DownloadProgress } from './download.js'

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?'
  const s = Math.round(seconds)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

/** One line: `name  12.0 MB / 104 MB  11%  8.1 MB/s  11s left`. */
export function progressLine(name: string, progress: DownloadProgress, elapsedMs: number): string {
  const { received, total, resumedFrom } = progress
  const rate = elapsedMs > 0 ? ((received - resumedFrom) * 1000) / elapsedMs : 0
  const parts = [
    name,
    total !== undefined ? `${formatBytes(received)} / ${formatBytes(total)}` : formatBytes(received),
  ]
  if (total !== undefined && total > 0) parts.push(`${Math.floor((received * 100) / total)}%`)
  parts.push(`${formatBytes(Math.round(rate))}/s`)
  if (total !== undefined)
    parts.push(`${formatSeconds(rate > 0 ? (total - received) / rate : Number.POSITIVE_INFINITY)} left`)
  if (resumedFrom > 0) parts.push(`(resumed at ${formatBytes(resumedFrom)})`)
  return parts.join('  ')
}

/** Redraws the line on a terminal (at most every 100 ms); elsewhere writes a line per 10%. */
export function progressReporter(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  name: string,
): { update(progress: DownloadProgress): void; done(): void } {
  const started = Date.now()
  let last = 0
  let lastTenth = -1
  let drawn = false
  return {
    update(progress) {
      const now = Date.now()
      if (stream.isTTY) {
        if (now - last < 100 && progress.received !== progress.total) return
        last = now
        stream.write(`\r\u001b[2K${progressLine(name, progress, now - started)}`)
        drawn = true
        return
      }
      const tenth = progress.total ? Math.floor((progress.received * 10) / progress.total) : -1
      if (tenth === lastTenth) return
      lastTenth = tenth
      stream.write(`${progressLine(name, progress, now - started)}\n`)
    },
    done() {
      if (drawn) stream.write('\n')
    },
  }
}
