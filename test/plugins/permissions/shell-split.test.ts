import { describe, expect, it } from 'vitest'
import { splitShellCommand } from '../../../plugins/permissions/shell-split.js'

function parts(command: string): string[] {
  const result = splitShellCommand(command)
  if (!result.ok) throw new Error(`did not split: ${result.error}`)
  return result.parts.map(
    (p) => `${p.text}${p.substitution ? ' [subst]' : ''}${p.complex ? ' [complex]' : ''}`,
  )
}

describe('splitShellCommand', () => {
  it('splits on &&, ||, ;, |, |&, & and newlines', () => {
    expect(parts('a && b || c; d | e |& f & g\nh')).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'])
  })

  it('keeps operators inside quotes and escapes as text', () => {
    expect(parts('echo "a && b; c | d"')).toEqual(['echo "a && b; c | d"'])
    expect(parts("echo 'x || rm -rf /'")).toEqual(["echo 'x || rm -rf /'"])
    expect(parts('echo a \\&\\& b')).toEqual(['echo a \\&\\& b'])
    expect(parts("echo $'it\\'s; fine'")).toEqual(["echo $'it\\'s; fine'"])
  })

  it('normalizes whitespace between words, not inside quotes', () => {
    expect(parts('  npm   test  --  --watch ')).toEqual(['npm test -- --watch'])
    expect(parts('echo "a   b"')).toEqual(['echo "a   b"'])
  })

  it('gives the commands inside $(...), backticks, parameter expansions and <(...) as parts and flags the outer one', () => {
    expect(parts('echo $(rm -rf /)')).toEqual(['rm -rf /', 'echo $(rm -rf /) [subst]'])
    expect(parts('echo `whoami`')).toEqual(['whoami', 'echo `whoami` [subst]'])
    expect(parts('echo "today: $(date)"')).toEqual(['date', 'echo "today: $(date)" [subst]'])
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not a template
    const expansion = 'echo ${X:-$(id)}'
    expect(parts(expansion)).toEqual(['id', `${expansion} [subst]`])
    expect(parts('diff <(ls a) <(ls b)')).toEqual(['ls a', 'ls b', 'diff <(ls a) <(ls b) [subst]'])
    // Single quotes do not substitute.
    expect(parts("echo '$(rm -rf /)'")).toEqual(["echo '$(rm -rf /)'"])
  })

  it('splits subshells and brace groups, and drops the group keywords', () => {
    expect(parts('(cd sub && make) 2>/dev/null')).toEqual(['cd sub', 'make'])
    // A group's redirection that writes a file stays, so that it is checked.
    expect(parts('(cd sub && make) > build.log')).toEqual(['cd sub', 'make', '> build.log'])
    expect(parts('{ a; b; }')).toEqual(['a', 'b'])
    expect(parts('if [ -f x ]; then rm x; else touch x; fi')).toEqual(['[ -f x ]', 'rm x', 'touch x'])
    expect(parts('while read l; do echo "$l"; done < list')).toEqual(['read l', 'echo "$l"'])
  })

  it('flags constructs no rule can vouch for, and still gives their commands', () => {
    expect(parts('for f in *; do rm "$f"; done')).toEqual(['for f in * [complex]', 'rm "$f"'])
    expect(parts('f() { rm -rf /; }; f')).toEqual(['f() [complex]', 'rm -rf /', 'f'])
  })

  it('finds the files a command writes through redirections', () => {
    const writes = (command: string) => {
      const result = splitShellCommand(command)
      return result.ok ? result.parts.map((p) => p.writes) : result.error
    }
    expect(writes('echo hi > a.txt')).toEqual([['a.txt']])
    expect(writes('echo hi>a.txt')).toEqual([['a.txt']])
    expect(writes('make >>log 2>&1 &>all 1>|forced')).toEqual([['log', 'all', 'forced']])
    expect(writes('make 2>/dev/null >&2 <in <<<"x" >&-')).toEqual([[]])
    expect(writes('make >&out')).toEqual([['out']])
    expect(writes("echo '>' x \\> y")).toEqual([[]])
  })

  it('keeps redirections with their command; a lone redirection stays a part', () => {
    expect(parts('npm test 2>&1 | tee out &> all.log')).toEqual(['npm test 2>&1', 'tee out &> all.log'])
    expect(parts('npm test; > important.txt')).toEqual(['npm test', '> important.txt'])
  })

  it('skips comments and joins continued lines', () => {
    expect(parts('npm test # && rm -rf /')).toEqual(['npm test'])
    expect(parts('npm \\\n  test')).toEqual(['npm test'])
    expect(parts('a#b')).toEqual(['a#b'])
  })

  it('reads here-documents as data, and flags an expanding one that substitutes', () => {
    expect(parts("cat <<'EOF'\nrm -rf / && $(x)\nEOF\necho done")).toEqual(["cat <<'EOF'", 'echo done'])
    expect(parts('cat <<EOF\n$(whoami)\nEOF')).toEqual(['cat <<EOF [subst]'])
    expect(parts('cat <<-END\n\tplain; text\n\tEND\nls')).toEqual(['cat <<-END', 'ls'])
  })

  it('reports text that is not valid shell instead of guessing', () => {
    expect(splitShellCommand('echo "open')).toEqual({
      ok: false,
      error: expect.stringContaining('double quote'),
    })
    expect(splitShellCommand("echo 'open")).toMatchObject({ ok: false })
    expect(splitShellCommand('echo $(open')).toMatchObject({ ok: false })
    expect(splitShellCommand('a ) b')).toMatchObject({ ok: false, error: expect.stringContaining("')'") })
    expect(splitShellCommand('echo `open')).toMatchObject({ ok: false })
  })
})
