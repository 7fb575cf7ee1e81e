/**
 * A minimal container root filesystem built from the host's own binaries (no debootstrap, no
 * image pull: the test machine has no network): a few coreutils, sh, grep and their shared
 * libraries (found with ldd), with merged-/usr symlinks, an /etc/passwd with a `dev` user, and a
 * marker file the host does not have. Node is too large to copy: containers get it as a
 * read-only mount (ROOTFS_MOUNTS).
 */
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

const BINARIES = [
  'sh',
  'printf',
  'env',
  'sleep',
  'tr',
  'ls',
  'cat',
  'mkdir',
  'true',
  'pwd',
  'echo',
  'grep',
  'id',
  'rm',
  // for the network allowlist: socat bridges to tau's proxy, curl is what the contract drives
  'socat',
  'curl',
]

/** The binary itself (`command -v` names shell builtins such as printf). */
function which(name: string): string {
  const found = ['/usr/bin', '/bin', '/usr/sbin', '/sbin']
    .map((d) => join(d, name))
    .find((p) => existsSync(p))
  if (!found) throw new Error(`the test rootfs needs ${name}, which is not installed`)
  return found
}

function libsOf(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' })
  return [...out.matchAll(/(\/\S+)/g)].map((m) => m[1]!).filter((path) => existsSync(path))
}

/** The rootfs marker: its content proves a command saw the container's root, not the host's. */
export const ROOTFS_MARKER = '/etc/tau-test-container'

export function buildRootfs(dir: string): string {
  for (const sub of ['usr/bin', 'usr/lib', 'usr/lib64', 'etc', 'dev', 'proc', 'tmp', 'run', 'var/tmp']) {
    mkdirSync(join(dir, sub), { recursive: true })
  }
  for (const link of ['bin', 'lib', 'lib64'])
    symlinkSync(`usr/${link === 'bin' ? 'bin' : link}`, join(dir, link))
  const libs = new Set<string>(libsOf(realpathSync(process.execPath)))
  for (const name of BINARIES) {
    const path = realpathSync(which(name))
    copyFileSync(path, join(dir, 'usr', 'bin', name))
    for (const lib of libsOf(path)) libs.add(lib)
  }
  for (const lib of libs) {
    // /lib/x86_64-linux-gnu/libc.so.6 -> usr/lib/...: the rootfs has merged /usr too.
    const inside = join(dir, lib.replace(/^\/(lib|lib64)\//, '/usr/$1/'))
    mkdirSync(dirname(inside), { recursive: true })
    copyFileSync(realpathSync(lib), inside)
  }
  writeFileSync(
    join(dir, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\ndev:x:1234:1234:dev:/home/dev:/bin/sh\n',
  )
  writeFileSync(join(dir, ROOTFS_MARKER), 'tau test container\n')
  // The mount point of ROOTFS_MOUNTS' node (the root is read-only: bwrap cannot create it).
  writeFileSync(join(dir, 'usr', 'bin', 'node'), '')
  return dir
}

/** Node from the host, read-only, where the rootfs's PATH finds it. */
export const ROOTFS_MOUNTS = [
  { source: realpathSync(process.execPath), target: '/usr/bin/node', readonly: true },
]
