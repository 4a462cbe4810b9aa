/**
 * The id shifter: a perl program run at the far end of a connection (`perl -e`), with
 * the privileges the chain has there, wherever the tree is: on this machine, through
 * sudo, over ssh, inside a chroot. perl is on every Debian (perl-base is essential) and
 * needs nothing uploaded; extended attributes go through syscall(2), whose numbers it
 * picks by the machine's architecture.
 *
 * Per inode, in this order, because chown(2) clears setuid/setgid and the file
 * capability: read mode, capability and ACLs; lchown; restore the mode bits chown
 * dropped; write the shifted ACLs; write the capability as v3 with the mapped root id
 * (v2 where it maps to 0). Symlinks are never followed, other filesystems never entered,
 * a hard-linked inode is shifted once.
 *
 * The root carries a marker xattr (`shifting MAPS`, then `shifted MAPS`): a second run
 * with the same maps does nothing, and an interrupted one resumes (ids already in the
 * target range are left alone, unambiguous because the ranges may not overlap).
 *
 *   perl -e PROGRAM -- shift|unshift|state ROOT UIDMAP GIDMAP error|keep
 *
 * Maps are `inside:outside:count[,...]`. Prints `done|resumed|already INODES SHIFTED`, or
 * for `state` the marker (`none` without one). Dies with a one-line message.
 */
export const SHIFTER = String.raw`use strict; use warnings;
use POSIX (); use Errno qw(ENODATA ERANGE EOPNOTSUPP);
my ($mode, $root, $umap, $gmap, $unmapped) = @ARGV;
# lgetxattr, lsetxattr, llistxattr, lremovexattr
my %NR = (
  x86_64 => [192, 189, 195, 198],
  (map { $_ => [230, 227, 233, 236] } qw(i386 i486 i586 i686 armv6l armv7l armv8l)),
  (map { $_ => [9, 6, 12, 15] } qw(aarch64 riscv64 loongarch64)),
  (map { $_ => [213, 210, 216, 219] } qw(ppc64 ppc64le)),
  s390x => [228, 225, 231, 234],
);
my $machine = (POSIX::uname())[4];
my $nr = $NR{$machine} or die "no extended attribute syscalls known for $machine\n";
my ($GET, $SET, $LIST, $REMOVE) = @$nr;
my $MARK = 'trusted.consfig.idshift';
my $CAPS = 'security.capability';
my @ACLS = ('system.posix_acl_access', 'system.posix_acl_default');

sub lget {
  my ($p, $name) = @_;
  for (my $size = 256; ; $size *= 4) {
    my $buf = "\0" x $size;
    my $n = syscall($GET, $p, $name, $buf, $size);
    return substr($buf, 0, $n) if $n >= 0;
    return undef if $! == ENODATA || $! == EOPNOTSUPP;
    die "lgetxattr $name $p: $!\n" unless $! == ERANGE;
  }
}
sub llist {
  my ($p) = @_;
  for (my $size = 1024; ; $size *= 4) {
    my $buf = "\0" x $size;
    my $n = syscall($LIST, $p, $buf, $size);
    return $n == 0 ? () : split(/\0/, substr($buf, 0, $n)) if $n >= 0;
    return () if $! == EOPNOTSUPP;
    die "llistxattr $p: $!\n" unless $! == ERANGE;
  }
}
sub lset {
  my ($p, $name, $value) = @_;
  my ($len, $flags) = (length($value), 0);
  syscall($SET, $p, $name, $value, $len, $flags) == 0 or die "lsetxattr $name $p: $!\n";
}
sub lremove {
  my ($p, $name) = @_;
  syscall($REMOVE, $p, $name) == 0 or $! == ENODATA or die "lremovexattr $name $p: $!\n";
}

sub ranges { [map { [split /:/] } split /,/, $_[0]] }
sub map_id {
  my ($rs, $id) = @_;
  for my $r (@$rs) { return $r->[1] + $id - $r->[0] if $id >= $r->[0] && $id < $r->[0] + $r->[2] }
  return undef;
}
sub in_targets {
  my ($rs, $id) = @_;
  for my $r (@$rs) { return 1 if $id >= $r->[1] && $id < $r->[1] + $r->[2] }
  return 0;
}
sub flip { [map { [$_->[1], $_->[0], $_->[2]] } @{$_[0]}] }

my ($U, $G) = (ranges($umap), ranges($gmap));
my $maps = "u=$umap g=$gmap";

# ACLs: u32 version 2, then {u16 tag, u16 perm, u32 id}; named users (2) and groups (8) carry ids.
sub shift_acl {
  my ($v, $p) = @_;
  die "$p: unknown ACL format\n" unless length($v) >= 4 && unpack('V', $v) == 2 && (length($v) - 4) % 8 == 0;
  my $changed = 0;
  for (my $off = 4; $off < length $v; $off += 8) {
    my ($tag, undef, $id) = unpack('v v V', substr($v, $off, 8));
    next unless $tag == 2 || $tag == 8;
    my $m = map_id($tag == 2 ? $U : $G, $id);
    die "$p: ACL entry for " . ($tag == 2 ? 'uid' : 'gid') . " $id is outside the map\n" unless defined $m;
    substr($v, $off + 4, 4) = pack('V', $m);
    $changed = 1;
  }
  return $changed ? $v : undef;
}
# File capabilities: v2 (20 bytes) or v3 (24, with the namespace's root id last).
sub shift_caps {
  my ($v, $p) = @_;
  my $magic = unpack('V', $v);
  my ($rev, $flags) = ($magic & 0xff000000, $magic & 0x00ffffff);
  die "$p: unknown file capability format\n"
    unless ($rev == 0x02000000 && length $v == 20) || ($rev == 0x03000000 && length $v == 24);
  my $rootid = $rev == 0x03000000 ? unpack('V', substr($v, 20, 4)) : 0;
  my $m = map_id($U, $rootid);
  die "$p: file capability root id $rootid is outside the map\n" unless defined $m;
  my $body = substr($v, 4, 16);
  return $m == 0 ? pack('V', 0x02000000 | $flags) . $body : pack('V', 0x03000000 | $flags) . $body . pack('V', $m);
}

my ($resume, $inodes, $shifted) = (0, 0, 0);
sub visit {
  my ($p, $mode, $uid, $gid) = @_;
  $inodes++;
  my $link = ($mode & 0170000) == 0120000;
  my $tu = $resume && in_targets($U, $uid) ? $uid : map_id($U, $uid);
  my $tg = $resume && in_targets($G, $gid) ? $gid : map_id($G, $gid);
  if (!defined $tu || !defined $tg) {
    die "$p: owner $uid:$gid is outside the id map\n" unless $unmapped eq 'keep';
    $tu //= $uid; $tg //= $gid;
  }
  return if $tu == $uid && $tg == $gid;
  my %has = map { $_ => 1 } $link ? () : llist($p);
  my $caps = $has{$CAPS} ? lget($p, $CAPS) : undef;
  my @acls;
  for my $name (grep { $has{$_} } @ACLS) {
    my $v = lget($p, $name);
    my $s = defined $v ? shift_acl($v, $p) : undef;
    push @acls, [$name, $s] if defined $s;
  }
  POSIX::lchown($tu, $tg, $p) or die "lchown $p: $!\n";
  if (!$link && ($mode & 07000)) { chmod($mode & 07777, $p) or die "chmod $p: $!\n" }
  lset($p, $_->[0], $_->[1]) for @acls;
  lset($p, $CAPS, shift_caps($caps, $p)) if defined $caps;
  $shifted++;
}
sub walk {
  my @top = lstat $root or die "$root: $!\n";
  die "$root is not a directory\n" unless ($top[2] & 0170000) == 0040000;
  my %seen;
  my @stack = ($root);
  visit($root, @top[2, 4, 5]);
  while (@stack) {
    my $dir = pop @stack;
    opendir(my $dh, $dir) or die "opendir $dir: $!\n";
    while (defined(my $e = readdir $dh)) {
      next if $e eq '.' || $e eq '..';
      my $p = "$dir/$e";
      my @st = lstat $p or die "lstat $p: $!\n";
      next if $st[0] != $top[0];
      my $isdir = ($st[2] & 0170000) == 0040000;
      next if !$isdir && $st[3] > 1 && $seen{$st[1]}++;
      visit($p, @st[2, 4, 5]);
      push @stack, $p if $isdir;
    }
    closedir $dh;
  }
}

my $mark = lget($root, $MARK);
my ($state, $had) = defined $mark ? split(/ /, $mark, 2) : ('none', '');
if ($mode eq 'state') { print defined $mark ? "$mark\n" : "none\n"; exit 0 }
if ($mode eq 'shift') {
  die "$root is already " . ($state eq 'shifted' ? 'shifted' : 'being shifted') . " with other maps ($had)\n"
    if defined $mark && $had ne $maps;
  if ($state eq 'shifted') { print "already 0 0\n"; exit 0 }
  $resume = $state eq 'shifting';
  lset($root, $MARK, "shifting $maps");
  walk();
  lset($root, $MARK, "shifted $maps");
  print(($resume ? 'resumed' : 'done') . " $inodes $shifted\n");
} elsif ($mode eq 'unshift') {
  if (!defined $mark) { print "already 0 0\n"; exit 0 }
  die "$root was shifted with other maps ($had)\n" if $had ne $maps;
  # Some inodes may still be at host ids (an interrupted shift): those are the target now.
  ($U, $G, $resume) = (flip($U), flip($G), 1);
  lset($root, $MARK, "shifting $maps");
  walk();
  lremove($root, $MARK);
  print "done $inodes $shifted\n";
} else {
  die "unknown mode $mode\n";
}
`;
