/**
 * chroot: run the agent inside a root filesystem, in a private mount namespace that
 * holds the tree bound onto itself (with what is mounted inside it), /proc, /sys, /dev,
 * /dev/pts, /dev/shm and /run (its /run/lock shared by every chain into the tree, so that
 * their deployment locks exclude each other; and the host's resolv.conf) for the life of
 * the connection, so a chroot hop works inside another at any depth. The namespace dies
 * with the chain, so nothing stays mounted after it ends, even when the deploy fails or
 * is killed. A policy-rc.d that denies every start is bind-mounted too, so packages
 * installed inside start no daemons; where the chroot has none, an empty placeholder
 * (which invoke-rc.d ignores) is made for it and removed afterwards.
 *
 * One perl process does all that (unshare(2), mount(2), chroot(2)) where the shell way
 * takes unshare, sh and a dozen mount, mkdir and mktemp processes (~70 ms a chroot on the
 * test machine, against ~15 ms). perl-base is Essential on Debian; where there is no
 * perl, or perl on an architecture whose syscall numbers it does not know, the shell way
 * runs instead.
 *
 * Where root deploys the tree through this hop alone, consfig's own process takes its lock
 * and reads and writes its files (targetTree; core's agent/target-root.ts), and the chain
 * starts only for a command.
 */
import { accessSync, chmodSync, constants, lstatSync, mkdirSync, statSync } from 'node:fs';
import { FRONT_PERL, InvalidHopError, PERL_ARCH, type Hop, type TargetTree } from '@consfig/core/hop';

/**
 * `perl -e CHROOT_PERL -- SETUP ROOT COMMAND...`, as SETUP does with ROOT COMMAND...;
 * `$front`: COMMAND is `env -i NAME=VALUE... AGENT...`, run behind the front (chrootPerl).
 */
const CHROOT_PERL = String.raw`my $setup = shift @ARGV;
my ($r, @inner) = @ARGV;
sub fallback {
  exec { 'unshare' } 'unshare', '--mount', '--propagation', 'private', '--',
    'sh', '-c', $setup, 'consfig-chroot', @ARGV;
  die "chroot: cannot run unshare: $!
";
}
${PERL_ARCH}
# unshare, mount, umount2
my %NR = (x86_64 => [272, 165, 166], (map { $_ => [97, 40, 39] } qw(aarch64 riscv64 loongarch64)),
  i386 => [310, 21, 52], arm => [337, 21, 52], ppc64 => [282, 21, 52], s390x => [303, 21, 52]);
my ($unshare, $mount, $umount) = @{$NR{$arch} or fallback()};
my ($BIND, $REC, $PRIVATE) = (4096, 16384, 262144);
# O_WRONLY|O_CREAT|O_EXCL, the same on every machine above: Fcntl would cost ~3 ms to load.
my $WRONLY_CREAT_EXCL = 193;
if (!-d $r) { print STDERR "chroot: $r is not a directory
"; exit 111 }
sub mkdirs { my ($d) = @_; return if -d $d; (my $up = $d) =~ s{/+[^/]+/*\z}{}; mkdirs($up) if $up ne '';
  mkdir($d) or -d $d or die "chroot: cannot make $d: $!
" }
# The tree's /run/lock, where deployments into it take their lock: a directory of the
# host's, one per tree (by device and inode) in a directory of root's, so that every chain
# into the tree shares it, where each chain's own /run would give each a lock of its own.
# Root of a user namespace (an unprivileged build) keeps one of its own, named by the uid
# it is outside, as another user's would not be root's here.
sub shared_locks {
  my $base = (-d '/run/lock' && -w _) ? '/run/lock' : ($ENV{TMPDIR} || '/tmp');
  my $all = "$base/consfig-chroots";
  if (open(my $m, '<', '/proc/self/uid_map')) {
    my ($in, $out, $count) = split(' ', <$m> // '');
    $all .= "-$out" if defined $count && !($in == 0 && $out == 0 && $count == 4294967295);
  }
  mkdir($all, 0755);
  my @a = lstat($all);
  die "chroot: $all is not a directory of root's that only root may write
" unless -d _ && $a[4] == 0 && !($a[2] & 022);
  my @t = stat($r) or die "chroot: $r: $!
";
  my $tree = "$all/$t[0]-$t[1]";
  mkdir($tree) and chmod(01777, $tree);
  -d $tree or die "chroot: cannot make $tree: $!
";
  $tree;
}
# Paths are passed as strings, the flags and absent arguments (NULL) as numbers.
sub mnt { my ($src, $dst, $type, $flags, $data) = @_;
  syscall($mount, $src, $dst, $type, $flags, $data) == 0 or die "chroot: cannot mount $src on $dst: $!
" }
mkdirs("$r/$_") for qw(proc sys dev run usr/sbin etc);
syscall($unshare, 0x20000) == 0 or die "chroot: cannot make a mount namespace: $!
";
mnt('none', '/', 0, $REC | $PRIVATE, 0);
# With what is mounted inside it, as chroot(8) would see it.
mnt($r, $r, 0, $BIND | $REC, 0);
mnt('proc', "$r/proc", 'proc', 0, 0);
mnt('sysfs', "$r/sys", 'sysfs', 0, 0);
mnt('/dev', "$r/dev", 0, $BIND | $REC, 0);
mkdirs("$r/dev/pts");
mkdirs("$r/dev/shm");
mnt('devpts', "$r/dev/pts", 'devpts', 0, 'newinstance,ptmxmode=0666,mode=620');
mnt('tmpfs', "$r/dev/shm", 'tmpfs', 0, 0);
mnt('tmpfs', "$r/run", 'tmpfs', 0, 0);
mkdir("$r/run/lock") && chmod(01777, "$r/run/lock") or die "chroot: cannot make $r/run/lock: $!
";
mnt(shared_locks(), "$r/run/lock", 0, $BIND, 0);
if (-e '/etc/resolv.conf') {
  my $c = "$r/etc/resolv.conf";
  if (!-e $c && !-l $c) { open(my $f, '>', $c) or die "chroot: cannot make $c: $!
"; close $f }
  mnt('/etc/resolv.conf', $c, 0, $BIND, 0) unless -l $c;
}
my $p = "$r/usr/sbin/policy-rc.d";
my $placeholder = 0;
if (!-e $p) { open(my $f, '>', $p) or die "chroot: cannot make $p: $!
"; close $f; $placeholder = 1 }
my ($policy, $pf);
for (1 .. 100) {
  $policy = sprintf('%s/consfig-policy-%d-%08x', $ENV{TMPDIR} || '/tmp', $$, int(rand(4294967296)));
  last if sysopen($pf, $policy, $WRONLY_CREAT_EXCL, 0700);
  undef $pf;
}
$pf or die "chroot: cannot make a temporary file: $!
";
print $pf "#!/bin/sh
exit 101
";
close $pf;
chmod(0755, $policy);
mnt($policy, $p, 0, $BIND, 0);
# The front's names come through NSS as set up here, before the chroot (front.ts).
getpwuid(0) if $front;
my $child = fork() // die "chroot: fork: $!
";
if ($child == 0) {
  chroot($r) && chdir('/') or die "chroot: cannot change root to $r: $!
";
  if ($front && "@inner[0, 1]" eq 'env -i') {
    my @agent = @inner[2 .. $#inner];
    %ENV = ();
    while (@agent && $agent[0] =~ /\A([^=]+)=(.*)\z/s) { $ENV{$1} = $2; shift @agent }
    front($arch, @agent);
  }
  exec { $inner[0] } @inner;
  die "chroot: cannot run $inner[0]: $!
";
}
waitpid($child, 0);
my $rc = $? & 127 ? 128 + ($? & 127) : $? >> 8;
syscall($umount, $p, 0);
unlink $policy;
unlink $p if $placeholder;
front_exit($arch, $rc) if $front;
exit $rc;`;

/** The helper's text, with the agent behind the front (core's front.ts) or not. */
function chrootPerl(front: boolean): string {
  return front ? `my $front = 1;\n${CHROOT_PERL}\n${FRONT_PERL}` : `my $front = 0;\n${CHROOT_PERL}`;
}

/** perl where there is one, else the shell way (SETUP, in its own mount namespace). */
const LAUNCH = String.raw`p=$1 s=$2; shift 2
if command -v perl >/dev/null 2>&1; then exec perl -e "$p" -- "$s" "$@"; fi
exec unshare --mount --propagation private -- sh -c "$s" consfig-chroot "$@"`;

const SETUP = String.raw`set -e
r=$1; shift
[ -d "$r" ] || { echo "chroot: $r is not a directory" >&2; exit 111; }
for d in proc sys dev run usr/sbin etc; do [ -d "$r/$d" ] || mkdir -p "$r/$d"; done
# The tree bound onto itself is a mount point, so that inside it "/" is one too and a
# chroot hop in this chroot can make its own mounts private (else: EINVAL from unshare);
# recursively, with what is mounted inside it, as chroot(8) would see it.
mount --rbind "$r" "$r"
mount -t proc proc "$r/proc"
mount -t sysfs sysfs "$r/sys"
mount --rbind /dev "$r/dev"
mkdir -p "$r/dev/pts" "$r/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$r/dev/pts"
mount -t tmpfs tmpfs "$r/dev/shm"
mount -t tmpfs tmpfs "$r/run"
mkdir -m 1777 "$r/run/lock"
# The tree's lock directory, shared by every chain into it (see the perl way).
base=/run/lock; { [ -d "$base" ] && [ -w "$base" ]; } || base=${'$'}{TMPDIR:-/tmp}
all=$base/consfig-chroots
if read -r in out count < /proc/self/uid_map && [ "$in $out $count" != "0 0 4294967295" ]; then all=$all-$out; fi
[ -d "$all" ] || mkdir -m 755 "$all"
if [ -L "$all" ] || [ "$(stat -c %u "$all")" != 0 ] || [ -n "$(find "$all" -maxdepth 0 -perm /022)" ]; then
  echo "chroot: $all is not a directory of root's that only root may write" >&2; exit 111
fi
tree=$all/$(stat -c %d-%i "$r")
[ -d "$tree" ] || mkdir -m 1777 "$tree"
mount --bind "$tree" "$r/run/lock"
if [ -e /etc/resolv.conf ]; then
  [ -e "$r/etc/resolv.conf" ] || [ -L "$r/etc/resolv.conf" ] || : > "$r/etc/resolv.conf"
  [ -L "$r/etc/resolv.conf" ] || mount --bind /etc/resolv.conf "$r/etc/resolv.conf"
fi
placeholder=
if [ ! -e "$r/usr/sbin/policy-rc.d" ]; then : > "$r/usr/sbin/policy-rc.d"; placeholder=1; fi
policy=$(mktemp)
printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"
mount --bind "$policy" "$r/usr/sbin/policy-rc.d"
set +e
chroot "$r" "$@"
rc=$?
umount "$r/usr/sbin/policy-rc.d" 2>/dev/null
rm -f "$policy"
[ -z "$placeholder" ] || rm -f "$r/usr/sbin/policy-rc.d"
exit "$rc"`;

/** The agent's environment in the chroot. */
const CHROOT_ENV = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
  LANG: 'C.UTF-8',
  DEBIAN_FRONTEND: 'noninteractive',
};

/** What the helper mounts over in the tree: only the chain sees what is there. */
const MOUNTED_OVER = ['/proc', '/sys', '/dev', '/run', '/etc/resolv.conf', '/usr/sbin/policy-rc.d'];

/**
 * The directory the helper mounts on the tree's /run/lock, made as its shared_locks makes
 * it (root of this machine's user namespace), or undefined where it cannot be.
 */
function sharedLocks(root: string): string | undefined {
  let base = process.env.TMPDIR || '/tmp';
  try {
    if (statSync('/run/lock').isDirectory()) {
      accessSync('/run/lock', constants.W_OK);
      base = '/run/lock';
    }
  } catch {
    // not there, or not writable: the temporary directory, as the helper does
  }
  const all = `${base}/consfig-chroots`;
  try {
    try {
      mkdirSync(all, 0o755);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
    }
    const a = lstatSync(all);
    if (!a.isDirectory() || a.uid !== 0 || (a.mode & 0o022) !== 0) return undefined;
    const t = statSync(root, { bigint: true });
    const tree = `${all}/${t.dev}-${t.ino}`;
    try {
      mkdirSync(tree);
      chmodSync(tree, 0o1777);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
    }
    return statSync(tree).isDirectory() ? tree : undefined;
  } catch {
    return undefined;
  }
}

export function chroot(root: string): Hop {
  if (!root.startsWith('/'))
    throw new InvalidHopError('chroot', `chroot needs an absolute path, not ${JSON.stringify(root)}`);
  return {
    kind: 'chroot',
    describe: () => `chroot:${root}`,
    localRoot: (outer) => (outer === '/' ? root : `${outer}${root}`),
    front: true,
    targetTree: (): TargetTree | undefined => {
      if (process.getuid?.() !== 0) return undefined;
      const runLock = sharedLocks(root);
      return runLock === undefined ? undefined : { dir: root, mountedOver: MOUNTED_OVER, runLock, env: CHROOT_ENV };
    },
    wrap: (inner, context) => [
      'sh',
      '-c',
      LAUNCH,
      'consfig-chroot',
      chrootPerl(context.front === true),
      SETUP,
      root,
      'env',
      '-i',
      ...Object.entries(CHROOT_ENV).map(([k, v]) => `${k}=${v}`),
      ...inner,
    ],
  };
}
