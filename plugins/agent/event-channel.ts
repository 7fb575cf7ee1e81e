/**
 * An unbounded single-consumer queue: the loop (and tools running in parallel) push events,
 * the run's async iterator takes them in order.
 */
export class EventChannel<T> implements AsyncIterable<T> {
  private readonly queue: T[] = []
  private head = 0
  private waiting: ((result: IteratorResult<T>) => void) | undefined
  private ended = false

  push(value: T): void {
    if (this.ended) return
    const waiter = this.waiting
    if (waiter) {
      this.waiting = undefined
      waiter({ value, done: false })
    } else this.queue.push(value)
  }

  end(): void {
    this.ended = true
    const waiter = this.waiting
    this.waiting = undefined
    waiter?.({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.head < this.queue.length) {
          const value = this.queue[this.head++]!
          if (this.head > 1024 && this.head * 2 > this.queue.length) {
            this.queue.splice(0, this.head)
            this.head = 0
          }
          return Promise.resolve({ value, done: false })
        }
        if (this.ended) return Promise.resolve({ value: undefined, done: true })
        return new Promise((resolve) => {
          this.waiting = resolve
        })
      },
    }
  }
}
