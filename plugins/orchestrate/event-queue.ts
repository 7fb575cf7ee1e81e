/** An unbounded single-consumer queue: a workflow's steps push events, the run's iterator takes them in order. */
export class EventQueue<T> implements AsyncIterable<T> {
  private readonly queue: T[] = []
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
        if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift()!, done: false })
        if (this.ended) return Promise.resolve({ value: undefined, done: true })
        return new Promise((resolve) => {
          this.waiting = resolve
        })
      },
    }
  }
}
