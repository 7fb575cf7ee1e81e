/** `tau plugins` prints hook kinds by tapable's names, also when a bundler renamed the classes. */
import { AsyncSeriesHook, SyncBailHook } from 'tapable'
import { describe, expect, it } from 'vitest'
import { kindOf } from '../../kernel/hooks.js'

describe('kindOf', () => {
  it("names tapable's classes", () => {
    expect(kindOf(new AsyncSeriesHook<[unknown]>(['x']))).toBe('AsyncSeriesHook')
    expect(kindOf(new SyncBailHook<[unknown], unknown>(['x']))).toBe('SyncBailHook')
  })

  it('drops the number a bundler adds to a renamed class (AsyncSeriesHook3), and only for known kinds', () => {
    class AsyncSeriesHook3 {}
    class AsyncSeriesWaterfallHook2 {}
    class MyHook2 {}
    expect(kindOf(new AsyncSeriesHook3())).toBe('AsyncSeriesHook')
    expect(kindOf(new AsyncSeriesWaterfallHook2())).toBe('AsyncSeriesWaterfallHook')
    expect(kindOf(new MyHook2())).toBe('MyHook2')
  })
})
