/**
 * Entering a running container in one helper process: perl (on every Debian, and single
 * threaded, so it may setns) becomes the owner where root enters a user's container,
 * asks lxc-info for the init, enters the init's differing namespaces (user first), takes
 * its root, becomes root there and runs the agent with the init's environment, forking
 * once where the PID namespace changes, as nsenter does. The init's pid comes from the
 * container's command socket, as lxc-info gets it, without starting lxc-info (which loads
 * liblxc: the dearest step of entering); lxc-info is asked where the socket cannot answer.
 * That is perl and the agent's shell on the way in, where the shell way takes setpriv, sh,
 * lxc-info, tr, nsenter and env. perl-base is Essential on Debian; elsewhere `method: 'attach'`
 * takes the shell way, which perl itself takes where the deploying user is neither root
 * nor the owner (su's PAM session is needed).
 */
import { FRONT_PERL, PERL_ARCH } from '@consfig/core/hop';
import { KINDS } from './nsenter.js';

/** The PATH for lxc-info and, where the container's init sets none, for the agent. */
export const CONTAINER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Perl text defining `init_pid(NAME, LXCPATH[, UID])`: the pid of a running container's init,
 * asked of the container's monitor over its command socket (the abstract Unix socket
 * `@LXCPATH/NAME/command`, request GET_INIT_PID, 4 since LXC 1.1), believed only where the
 * monitor runs as UID (default: us) or as root; undef where it cannot tell (no LXCPATH given,
 * a name LXC would hash, no such socket, no answer within 5 s), and the caller asks lxc-info.
 * Needs `$arch`.
 */
export const INIT_PID_PERL = String.raw`my %PEERCRED = (x86_64 => 17, aarch64 => 17, riscv64 => 17,
  loongarch64 => 17, s390x => 17, i386 => 17, arm => 17, ppc64 => 21);
sub init_pid {
  my ($name, $lxcpath, $as) = @_;
  $as //= $<;
  my $path = "$lxcpath/$name/command";
  my $so_peercred = $PEERCRED{$arch};
  return undef if $lxcpath eq '' || length($path) >= 106 || !$so_peercred;
  socket(my $s, 1, 1, 0) or return undef;
  connect($s, pack('S', 1) . "\0$path") or return undef;
  my (undef, $uid) = unpack('i2', getsockopt($s, 1, $so_peercred) // return undef);
  return undef unless $uid == $as || $uid == 0;
  my $ptr = length(pack('p', undef));
  my ($answer, $got) = ('', 1);
  eval {
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm 5;
    syswrite($s, pack('ii', 4, 0) . ("\0" x $ptr)) == 8 + $ptr or die "short\n";
    $got = sysread($s, $answer, 8 + $ptr - length($answer), length($answer)) while $got && length($answer) < 8 + $ptr;
    alarm 0;
  };
  alarm 0;
  return undef if length($answer) < 8 + $ptr;
  my ($ret) = unpack('i', $answer);
  my $pid = unpack($ptr == 8 ? 'Q' : 'L', substr($answer, 8));
  return $ret == 0 && $pid > 0 && -d "/proc/$pid" ? $pid : undef;
}`;

/**
 * Perl text defining `keep_listening(SOCK)`, a listening Unix socket at the path SOCK made
 * by the deploying user, before entering (undef where it cannot be: one is there already,
 * a run at the same time made it), and `keep_agent($listener, IDLE)`, which forks the
 * server that keeps the entered agent for later runs: it forks an agent for each pair of
 * connections (core's agent/attached-chain.ts), and ends when it has had none for IDLE
 * seconds (or with the container). Nobody but that user can reach the socket: its
 * directory is theirs alone. Needs `agent()`.
 */
export const KEEP_AGENT_PERL = String.raw`sub keep_listening {
  my ($path) = @_;
  my ($mask, $s) = (umask(077));
  my $ok = socket($s, 1, 1, 0) && bind($s, pack('S', 1) . $path) && listen($s, 64);
  umask($mask);
  return $ok ? $s : undef;
}
sub keep_agent {
  my ($listener, $idle) = @_;
  my $server = fork();
  return close($listener) if !defined $server || $server;
  # Its own process group, no stdio of the chain's: what ends the chain leaves it be.
  setpgrp(0, 0);
  open(STDIN, '<', '/dev/null');
  open(STDOUT, '>', '/dev/null');
  open(STDERR, '>', '/dev/null');
  # The front's later half (commands, writes) compiled here once, not by every agent forked.
  eval { front_later() } if defined &front_later;
  my (%half, %kids);
  my $last = time;
  while (1) {
    # Reaped here, not in a handler: one could run between a fork and noting its pid.
    while ((my $k = waitpid(-1, 1)) > 0) { delete $kids{$k}; $last = time }
    my $rin = '';
    vec($rin, fileno($listener), 1) = 1;
    if (select(my $rout = $rin, undef, undef, 1) > 0 && accept(my $c, $listener)) {
      # Its line, a byte at a time: what follows it is the agent's.
      my $line = '';
      eval {
        local $SIG{ALRM} = sub { die "slow\n" };
        alarm 5;
        while (length($line) < 100 && $line !~ /\n\z/) { sysread($c, $line, 1, length $line) or last }
        alarm 0;
      };
      alarm 0;
      if ($line =~ /\Aconsfig-agent (main|err) ([0-9a-f]{32})\n\z/) {
        my ($kind, $nonce) = ($1, $2);
        my $other = delete $half{$nonce};
        if (!$other || $other->[0] eq $kind) {
          $half{$nonce} = [$kind, $c, time];
        } else {
          my ($in, $err) = $kind eq 'main' ? ($c, $other->[1]) : ($other->[1], $c);
          my $pid = fork();
          if (defined $pid && $pid == 0) {
            setpgrp(0, 0);
            close($listener);
            close($_->[1]) for values %half;
            open(STDIN, '<&', $in) && open(STDOUT, '>&', $in) && open(STDERR, '>&', $err) or exit 111;
            close($in);
            close($err);
            agent();
          }
          $kids{$pid} = 1 if $pid;
          $last = time;
        }
      }
    }
    # A caller that never sent its other half: given up after 10 s.
    for my $n (keys %half) { delete $half{$n} if time - $half{$n}[2] > 10 }
    exit 0 if !%kids && !%half && time - $last >= $idle;
  }
}`;

/**
 * `perl -e ENTER_PERL -- OWNER NAME LXCPATH SOCK IDLE K FALLBACK...`: the last K words of
 * FALLBACK are the agent; `$front` says whether it runs behind the front (enterPerl); where
 * SOCK is not empty the entered agent is kept there for IDLE seconds (KEEP_AGENT_PERL).
 */
const ENTER_PERL = String.raw`my ($owner, $name, $lxcpath, $sock, $idle, $k) = splice(@ARGV, 0, 6);
my @fallback = @ARGV;
my @agent = @ARGV[@ARGV - $k .. $#ARGV];
sub fallback { exec { $fallback[0] } @fallback; die "lxc: cannot run $fallback[0]: $!\n" }
# Made while we are still the deploying user, in that user's directory.
my $listener = $sock eq '' ? undef : keep_listening($sock);
my @me = getpwuid($<);
my @pw = $owner eq '' ? @me : getpwnam($owner);
@pw or fallback();
fallback() if $< != 0 && $pw[2] != $<;
${PERL_ARCH}
${INIT_PID_PERL}
# Asked before becoming the owner: entering needs none of the owner's groups (the user
# namespace's root gets its own), lxc-info alone may (the container's files), so the
# user database's groups are read (~1 ms here) only where it has to be asked.
my $pid = init_pid($name, $lxcpath, $pw[2]);
if ($< == 0 && $pw[2] != 0) {
  my ($uid, $gid) = @pw[2, 3];
  my @groups;
  if (!defined $pid) { while (my @g = getgrent()) { push @groups, $g[2] if " $g[3] " =~ / \Q$pw[0]\E /; } }
  $) = join(' ', $gid, $gid, @groups);
  $( = $gid;
  ($<, $>) = ($uid, $uid);
  die "lxc: cannot become $pw[0]: $!\n" unless $< == $uid && $> == $uid;
}
%ENV = (PATH => '${CONTAINER_PATH}', HOME => $pw[7],
  USER => $pw[0], LOGNAME => $pw[0]);
my @info = ('lxc-info', ($lxcpath ne '' ? ('-P', $lxcpath) : ()), '-n', $name, '-H');
sub info { open(my $fh, '-|', @info, @_) or die "lxc: cannot run lxc-info: $!\n"; local $/; my $out = <$fh>; close $fh;
  $out = '' unless defined $out; $out =~ s/\s+\z//; $out }
$pid //= info('-p');
if ($pid !~ /\A\d+\z/) {
  my $state = info('-s') || 'unknown';
  print STDERR "lxc: container $name of $pw[0] is not running ($state)\n";
  exit 112;
}
my (@enter, $user);
for my $ns (qw(${KINDS.map(([ns]) => ns).join(' ')})) {
  my $theirs = readlink("/proc/$pid/ns/$ns");
  next unless defined $theirs;
  next if $theirs eq (readlink("/proc/self/ns/$ns") // '');
  open(my $fd, '<', "/proc/$pid/ns/$ns") or die "lxc: $name: the $ns namespace of $pid: $!\n";
  push @enter, [$ns, $fd];
  $user = 1 if $ns eq 'user';
}
opendir(my $root, "/proc/$pid/root") or die "lxc: $name: the root of $pid: $!\n";
# A user namespace whose setgroups is denied cannot take setgroups(2): its map makes us root there.
my $deny = 0;
if ($user && open(my $sg, '<', "/proc/$pid/setgroups")) { $deny = (<$sg> // '') =~ /deny/ }
my %SETNS = (x86_64 => 308, aarch64 => 268, riscv64 => 268, loongarch64 => 268, ppc64 => 350, s390x => 339,
  i386 => 346, arm => 375);
my $setns = $SETNS{$arch} or die "lxc: no setns(2) known for $arch\n";
for (@enter) { syscall($setns, fileno($_->[1]), 0) == 0 or die "lxc: $name: cannot enter its $_->[0] namespace: $!\n" }
chdir($root) && chroot('.') && chdir('/') or die "lxc: $name: cannot take its root: $!\n";
if ($user && !$deny) {
  $) = '0 0';
  $( = 0;
  ($<, $>) = (0, 0);
}
my %env = (PATH => $ENV{PATH}, HOME => '/root');
if (open(my $e, '<', '/proc/1/environ')) {
  local $/ = "\0";
  while (my $kv = <$e>) { chomp $kv; $env{$1} = $2 if $kv =~ /^([^=]+)=(.*)$/s }
}
%ENV = %env;
sub agent { front($arch, @agent) if $front; exec { $agent[0] } @agent; die "lxc: cannot run $agent[0]: $!\n" }
close($_->[1]) for @enter;
closedir($root);
# Forked into the PID namespace, though the fork costs (perl's pages, copied as the child
# writes them: ~5 ms of ~20 a container here): setns(2) would place there only the children
# of an agent left outside, whose own /proc/self (so /proc/net, /proc/mounts, /etc/mtab)
# the container's /proc would not show.
keep_agent($listener, $idle) if $listener && !grep { $_->[0] eq 'pid' } @enter;
agent() if !grep { $_->[0] eq 'pid' } @enter;
my $child = fork() // die "lxc: fork: $!\n";
if ($child == 0) {
  keep_agent($listener, $idle) if $listener;
  agent();
}
close($listener) if $listener;
waitpid($child, 0);
my $rc = $? & 127 ? 128 + ($? & 127) : $? >> 8;
front_exit($arch, $rc) if $front;
exit $rc;`;

/** The helper's text, with the agent behind the front (core's front.ts) or not. */
export function enterPerl(front: boolean): string {
  const text = `${ENTER_PERL}\n${KEEP_AGENT_PERL}`;
  return front ? `my $front = 1;\n${text}\n${FRONT_PERL}` : `my $front = 0;\n${text}`;
}
