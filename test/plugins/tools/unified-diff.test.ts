import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { unifiedDiff } from '../../../plugins/tools/unified-diff.js'

const lines = (...items: string[]) => `${items.join('\n')}\n`

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n', 'f')).toEqual({ diff: '', added: 0, removed: 0 })
  })

  it('makes separate hunks for distant changes, with three lines of context', () => {
    const before = lines('1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12')
    const after = lines('1', 'two', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13')
    expect(unifiedDiff(before, after, 'f.txt').diff).toBe(
      [
        '--- a/f.txt',
        '+++ b/f.txt',
        '@@ -1,5 +1,5 @@',
        ' 1',
        '-2',
        '+two',
        ' 3',
        ' 4',
        ' 5',
        '@@ -10,3 +10,4 @@',
        ' 10',
        ' 11',
        ' 12',
        '+13',
        '',
      ].join('\n'),
    )
  })

  it('numbers hunks of a new and of an emptied file as unified diff does', () => {
    expect(unifiedDiff('', 'a\nb\n', 'n').diff).toBe('--- a/n\n+++ b/n\n@@ -0,0 +1,2 @@\n+a\n+b\n')
    expect(unifiedDiff('a\n', '', 'n').diff).toBe('--- a/n\n+++ b/n\n@@ -1,1 +0,0 @@\n-a\n')
  })

  it.runIf(existsSync('/usr/bin/patch'))('produces diffs that patch(1) applies, for random edits', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tau-diff-'))
    try {
      let seed = 7
      const random = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2147483648
        return seed % n
      }
      for (let round = 0; round < 40; round++) {
        const a = Array.from({ length: 5 + random(40) }, () => `line ${random(8)}`)
        const b = [...a]
        for (let edits = random(6); edits >= 0; edits--) {
          const at = random(b.length + 1)
          if (random(2) === 0 && b.length > 0) b.splice(at, 1)
          else b.splice(at, 0, `new ${random(100)}`)
        }
        const before = lines(...a)
        const after = b.length ? lines(...b) : ''
        writeFileSync(join(dir, 'f'), before)
        writeFileSync(join(dir, 'f.diff'), unifiedDiff(before, after, 'f').diff)
        execFileSync('patch', ['-s', '-p1', '-i', 'f.diff'], { cwd: dir })
        expect(readFileSync(join(dir, 'f'), 'utf8'), `round ${round}`).toBe(after)
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('falls back to one block for very large changes instead of using unbounded memory', () => {
    const a = Array.from({ length: 30_000 }, (_, i) => `a${i}`).join('\n')
    const b = Array.from({ length: 30_000 }, (_, i) => `b${i}`).join('\n')
    const { added, removed } = unifiedDiff(a, b, 'big')
    expect({ added, removed }).toEqual({ added: 30_000, removed: 30_000 })
  })
})
