/**
 * The agent's front: perl text for the end of a remote chain. The helpers that already run
 * perl there (entering a container, a chroot) call it themselves; at the end of any other
 * chain a shell starts perl with it (frontBoot). Instead of starting the agent's shell at
 * once, `front($arch, @agent)` answers what most deployments ask: the greeting, the
 * deployment lock, the probes (with perl's own system calls, where the shell runs flock,
 * find and cat), file writes (where the shell runs chown, chmod and mv or its renamer) and
 * the first commands without input (forked and exec'd as the shell would; `mkdir -p` of
 * an absolute directory made by perl itself where nothing is in the way, and not counted
 * among them). A deployment that asks nothing else never starts the shell at all.
 *
 * The client sends the front nothing else: before its first other request (a read, a
 * command with input, a third command) it sends `__c_sh NONCE` and waits for that answer,
 * so when the front reads that line its input holds nothing more, and it execs the shell
 * in its own place (the same pid), the lock on fd 7 where the shell keeps it, a finisher
 * for the shell's writes on fds 5 and 6, and the switch's nonce, the ids, whether there is
 * a finisher and the lock file's name in `__c_front`; the shell answers the switch
 * (program.ts). An agent without a front answers `__c_sh` too, doing nothing, so the
 * client need not know which it reached. Commands come as `__c_run` words where a front
 * may answer (requests.ts).
 *
 * The answers are the shell's, byte for byte: find's records (type, permission bits, ids,
 * names from the C library, or the number where there is none; size; link target), the
 * readable regular files' contents; the same lock file and text; a command's umask,
 * directory, PWD, environment, exit code and dash's words where it cannot start; a written
 * file's owner, mode and failures. The front needs `flock(1)` on the target for that (the
 * shell takes a directory instead where there is none): without it, the shell starts at
 * once. Its names come through the C library's NSS as it was set up before a helper
 * changed root: glibc does not reload nsswitch.conf after a chroot, so no module of the
 * tree's is loaded into perl.
 */
import { PERL_ARCH } from './perl-arch.js';
import { SHELL_OWN } from './requests.js';

export const FRONT_PERL = String.raw`# dup3(2) and exit_group(2) by number, where the front knows them.
sub front_calls {
  @{{x86_64 => [292, 231], i386 => [330, 252], arm => [358, 248], aarch64 => [24, 94], riscv64 => [24, 94],
    loongarch64 => [24, 94], ppc64 => [316, 234], s390x => [326, 248]}->{$_[0]} // []}
}
# The end of a helper that waited for the agent: exit_group(2) where known, as perl's own
# exit frees every value first (~3 ms here).
sub front_exit {
  my ($arch, $rc) = @_;
  my (undef, $exit) = front_calls($arch);
  syscall($exit, $rc) if $exit;
  exit $rc;
}
# What only commands, writes and the switch to the shell need, compiled when first needed
# (front_later): a deployment that only probes and locks (one that changes nothing) does
# without compiling it, about half of the front.
sub front_later_text {
  <<'FRONT_LATER';
# mkdir -p [--] DIR of one absolute directory, made here as GNU mkdir makes it: each
# missing parent under the umask less u+wx, the directory itself under the umask. False
# wherever anything is in the way (the command then runs, and fails in its words).
sub front_mkdir {
  my ($umask, @argv) = @_;
  splice(@argv, 2, 1) if @argv == 4 && $argv[2] eq '--';
  return 0 if @argv != 3 || $argv[0] ne 'mkdir' || $argv[1] ne '-p' || $argv[2] !~ m{\A/};
  my @parts = grep { $_ ne '' } split(m{/}, $argv[2]);
  my ($path, $ok, $old) = ('', 1, umask);
  for my $i (0 .. $#parts) {
    $path .= "/$parts[$i]";
    next if -d $path;
    umask($i == $#parts ? oct $umask : oct($umask) & ~0300);
    $ok = mkdir($path, 0777) || -d $path;
    last if !$ok;
  }
  umask $old;
  $ok;
}
# A written temp file's owner, mode and rename as the shell's __c_fin does them (the old
# file's where none is given), the temp removed on failure: undef, or what chown, chmod or
# mv would have said.
sub front_finish {
  my ($path, $tmp, $mode, $owner, $group) = @_;
  my $err;
  my @old = lstat $path;
  my $old = @old && ($old[2] & 0170000) == 0100000;
  my ($u, $g) = (-1, -1);
  if ("$owner$group" eq '') { ($u, $g) = @old[4, 5] if $old }
  elsif ("$owner$group" ne '-') {
    # chown quotes as the locale has it (coreutils: curly quotes where it is UTF-8).
    my $spec = $owner . ($group ne '' ? ":$group" : '');
    my $utf8 = ($ENV{LC_ALL} || $ENV{LC_CTYPE} || $ENV{LANG} || '') =~ /utf-?8/i;
    $spec = $utf8 ? "\xe2\x80\x98$spec\xe2\x80\x99" : "'$spec'";
    if ($owner ne '') { $u = getpwnam($owner) // ($owner =~ /\A\d+\z/ ? $owner : undef) }
    if ($group ne '') { $g = getgrnam($group) // ($group =~ /\A\d+\z/ ? $group : undef) }
    $err = defined $u ? defined $g ? undef : "chown: invalid group: $spec\n" : "chown: invalid user: $spec\n";
  }
  if (!defined $err && ($u != -1 || $g != -1) && !chown($u, $g, $tmp)) {
    $err = 'chown: changing ' . ($u == -1 ? 'group of' : 'ownership of') . " '$tmp': $!\n";
  }
  if (!defined $err && $mode ne '-' && !chmod($mode ne '' ? oct $mode : $old ? $old[2] & 07777 : 0644, $tmp)) {
    $err = "chmod: changing permissions of '$tmp': $!\n";
  }
  if (!defined $err && !rename($tmp, $path)) { $err = "mv: cannot move '$tmp' to '$path': $!\n" }
  unlink $tmp if defined $err;
  $err;
}
# The shell's finisher (program.ts): NUL-terminated words in on $q, an exit code a line out
# on $a, its words on stderr. 'd TMP LEN': LEN bytes of the agent's input (the shell reads
# it a byte at a time, so nothing of it is read ahead) appended to TMP, all of them whatever
# happens ('' for TMP: read and dropped); 'f PATH TMP MODE OWNER GROUP': front_finish. At
# the end of its input (the shell gone) it exits.
sub front_finisher {
  my ($q, $a, $exit) = @_;
  my $buf = '';
  my $word = sub {
    my $nul;
    while (($nul = index($buf, "\0")) < 0) { sysread($q, $buf, 4096, length $buf) or syscall($exit, 0) }
    my $w = substr($buf, 0, $nul + 1, '');
    chop $w;
    $w;
  };
  my $say = sub { syswrite($a, "$_[0]\n") or syscall($exit, 0) };
  while (1) {
    my $op = $word->();
    if ($op eq 'd') {
      my ($tmp, $left) = ($word->(), $word->());
      my ($f, $err, $got) = (undef, undef, 0);
      if ($tmp ne '' && !open($f, '>>:raw', $tmp)) { $err = "sh: 1: cannot create $tmp: $!\n"; undef $f }
      my $want = $left;
      while ($left > 0) {
        my $n = sysread(STDIN, my $chunk, $left < 65536 ? $left : 65536);
        last unless $n;
        $left -= $n;
        $got += $n;
        while ($f && !defined $err && length $chunk) {
          my $w = syswrite($f, $chunk);
          if (defined $w) { substr($chunk, 0, $w) = '' } else { $err = "cat: write error: $!\n" }
        }
      }
      $err //= "cat: write error: $!\n" if $f && !close($f);
      $err //= "short write: received $got of $want bytes\n" if $left > 0 && $tmp ne '';
      if (defined $err) { unlink $tmp if $tmp ne ''; print STDERR $err; $say->(1) }
      else { $say->(0) }
    } elsif ($op eq 'f') {
      my @w = map { $word->() } 1 .. 5;
      my $err = front_finish(@w);
      print STDERR $err if defined $err;
      $say->(defined $err ? 1 : 0);
    } else {
      syscall($exit, 2);
    }
  }
}
1;
FRONT_LATER
}
# (A sub, not a variable: the helpers put the front after their own code, which runs first.)
sub front_later { defined &front_finish or eval(front_later_text()) or die "front: $@" }
sub front {
  my ($arch, @agent) = @_;
  my $sh = sub { exec { $agent[0] } @agent; die "cannot run $agent[0]: $!\n" };
  my @SIGNAL = ('', 'Hangup', 'Interrupt', 'Quit', 'Illegal instruction', 'Trace/breakpoint trap', 'Aborted',
    'Bus error', 'Floating point exception', 'Killed', 'User defined signal 1', 'Segmentation fault',
    'User defined signal 2', 'Broken pipe', 'Alarm clock', 'Terminated', 'Stack fault', 'Child exited', 'Continued',
    'Stopped (signal)', 'Stopped', 'Stopped (tty input)', 'Stopped (tty output)', 'Urgent I/O condition',
    'CPU time limit exceeded', 'File size limit exceeded', 'Virtual timer expired', 'Profiling timer expired',
    'Window changed', 'I/O possible', 'Power failure', 'Bad system call');
  my ($dup3, $exit) = front_calls($arch);
  $sh->() unless $dup3 && grep { $_ ne '' && -f "$_/flock" && -x _ } split(/:/, $ENV{PATH} // '');
  umask 077;
  # dash's PWD: kept where it is absolute and names where we are, else where we are.
  my $id = sub { my @s = stat $_[0]; @s ? "$s[0] $s[1]" : '' };
  if (!(($ENV{PWD} // '') =~ m{\A/} && $id->($ENV{PWD}) eq $id->('.'))) {
    $ENV{PWD} = readlink('/proc/self/cwd') // do { require Cwd; Cwd::getcwd() };
  }
  my ($in, $uid, $gid, %un, %gn, $lock, $lf) = ('', $< + 0, $( + 0);
  my $put = sub { my ($fh, $s) = @_;
    while (length $s) { my $n = syswrite($fh, $s) // die "front: $!\n"; substr($s, 0, $n) = '' } };
  my $answer = sub { my ($nonce, $rc, $out, $err) = @_;
    $put->(\*STDOUT, ($out // '') . "$nonce $rc\n"); $put->(\*STDERR, ($err // '') . $nonce) };
  # At the end of input, exit_group(2) at once: perl's own exit would tear down its data,
  # shared copy-on-write with the helper it was forked from, a page fault a page (~3 ms).
  my $fill = sub { my $got = sysread(STDIN, $in, 65536, length $in); $got or syscall($exit, 0) };
  my $slurp = sub { my ($p) = @_; open(my $f, '<:raw', $p) or return undef; local $/; my $c = <$f>; $c // '' };
  my %TYPE = (0100000 => 'f', 040000 => 'd', 0120000 => 'l', 010000 => 'p', 0140000 => 's', 020000 => 'c',
    060000 => 'b');
  my $probe = sub { my ($k, @paths) = @_;
    my ($out, @files) = ('');
    for my $i (0 .. $#paths) {
      my $p = $paths[$i];
      my @s = lstat($p) or next;
      my $t = $TYPE{$s[2] & 0170000} // 'f';
      my $l = $t eq 'l' ? readlink($p) // '' : '';
      my $u = $un{$s[4]} //= (getpwuid($s[4]))[0] // $s[4];
      my $g = $gn{$s[5]} //= (getgrgid($s[5]))[0] // $s[5];
      $out .= sprintf("%s\0%s %o %d %d %s %s %d\0%s\0", $p, $t, $s[2] & 07777, $s[4], $s[5], $u, $g, $s[7], $l);
      push @files, $p if $i >= $k && $t eq 'f' && -r $p;
    }
    $out .= "\0" . join('', map { "$_\0" } @files) . "\0";
    for (@files) { my $c = $slurp->($_); $out .= $c if defined $c }
    $out };
  # Over the old line, then cut to length: a file truncated to nothing is flushed when closed.
  my $held = sub { my ($info) = @_; open(my $w, '+<', $lf) or return; syswrite($w, "$info\n");
    truncate($w, length("$info\n")); close $w };
  my $taken = sub { my ($nonce, $ok, $info) = @_;
    if ($ok) { $held->($info); $answer->($nonce, 0) }
    else { $answer->($nonce, 75, $slurp->($lf) // '') } };
  while (1) {
    my $nl;
    $fill->() while ($nl = index($in, "\n")) < 0;
    my $line = substr($in, 0, $nl + 1, '');
    chop $line;
    my (@w, $cur);
    while ($line =~ /\G(?:'([^']*)'|(\\')|("\$__c_nl")|( )|(\w+))/gc) {
      if (defined $4) { push @w, $cur; undef $cur } else { $cur .= $1 // $5 // ($2 ? "'" : "\n") }
    }
    push @w, $cur if defined $cur;
    die "front: cannot read request: $line\n" if (pos($line) // 0) != length $line || !@w;
    my ($what, $nonce, @args) = @w;
    if ($what eq '__c_hello') {
      my $pg = getpgrp();
      if (open(my $st, '<', "/proc/$$/stat")) { my @f = split(' ', <$st> // ''); $pg = $f[4] if defined $f[4] }
      $answer->($nonce, 0, "pid=$$ pgid=$pg uid=$uid gid=$gid\n");
    } elsif ($what eq '__c_probe') {
      $answer->($nonce, 0, $probe->(@args));
    } elsif ($what eq '__c_probe_big') {
      my ($bytes, $k) = @args;
      $fill->() while length($in) < $bytes;
      my $paths = substr($in, 0, $bytes, '');
      $answer->($nonce, 0, $probe->($k, grep { $_ ne '' } split(/\0/, $paths)));
    } elsif ($what eq '__c_lock_try') {
      my $name = $uid == 0 ? 'consfig.lock' : "consfig-$uid.lock";
      undef $lf;
      for my $d (($ENV{CONSFIG_LOCK_DIR} // '') ne '' ? $ENV{CONSFIG_LOCK_DIR} : '/run/lock', '/run/lock', '/var/lock',
        ($ENV{TMPDIR} // '') ne '' ? $ENV{TMPDIR} : '/tmp') {
        if (-d $d && -w $d) { $lf = "$d/$name"; last }
      }
      if (!defined $lf) {
        $answer->($nonce, 2, '', "no writable directory for the lock file (/run/lock, /var/lock, /tmp)\n");
        next;
      }
      close $lock if $lock;
      undef $lock;
      # Also on fd 7 (not closed on exec), where the shell keeps its lock: dash takes no
      # descriptor above 9 for a redirection.
      if (!open($lock, '>>', $lf) || (fileno($lock) != 7 && syscall($dup3, fileno($lock), 7, 0) != 7)) {
        $answer->($nonce, 2, '', "cannot open $lf: $!\n");
        undef $lock;
        next;
      }
      $taken->($nonce, flock($lock, 6), $args[0]);
    } elsif ($what eq '__c_lock_wait') {
      my ($secs, $info) = @args;
      my $ok = 0;
      if ($lock) {
        $ok = eval { local $SIG{ALRM} = sub { die "timeout\n" }; alarm $secs;
          my $r = flock($lock, $secs > 0 ? 2 : 6); alarm 0; $r };
        alarm 0;
      }
      if (defined $lf) { $taken->($nonce, $ok, $info) } else { $answer->($nonce, 75) }
    } elsif ($what eq '__c_run') {
      # As the shell runs it: ( umask; cd; export K=V...; exec ARGV ) 7>&- </dev/null, or
      # with a cleared environment, exec env -i K=V... ARGV, or (requests.ts) as its simple
      # command K=V... ARGV; dash's words where it fails.
      my ($umask, $cwd, $clear, $n, @argv) = @args;
      my @env = splice(@argv, 0, $n);
      front_later();
      # A file's property asks for its directory so before writing it: no process for that.
      if ($cwd eq '' && front_mkdir($umask, @argv)) { $answer->($nonce, 0); next }
      my $pid = fork() // die "front: fork: $!\n";
      if (!$pid) {
        umask oct $umask;
        if ($cwd ne '') {
          chdir $cwd or do { $put->(\*STDERR, "sh: 1: cd: can't cd to $cwd\n"); syscall($exit, 1) };
          # dash's cd: OLDPWD is where it was.
          ($ENV{OLDPWD}, $ENV{PWD}) = ($ENV{PWD}, $cwd);
        }
        open(STDIN, '<', '/dev/null');
        open(my $seven, '>&=', 7) and close $seven;
        if ($clear) { @argv = ('env', '-i', @env, @argv) }
        else { for (@env) { my ($k, $v) = split(/=/, $_, 2); $ENV{$k} = $v } }
        exec { $argv[0] } @argv;
        my ($errno, $why) = ($! + 0, "$!");
        my %own = map { $_ => 1 } qw(${[...SHELL_OWN].join(' ')});
        my $simple = $cwd eq '' && !$clear && !grep({ /^PATH=/ } @env) && $argv[0] ne '' && $argv[0] !~ /=|^__c_/
          && !$own{$argv[0]};
        my $words = $errno == 2 ? 'not found' : $why;
        $put->(\*STDERR, 'sh: 1: ' . ($simple ? 'eval: ' : 'exec: ') . "$argv[0]: $words\n");
        syscall($exit, $errno == 2 ? 127 : 126);
      }
      waitpid($pid, 0);
      my $sig = $? & 127;
      # What dash says of a command killed by a signal (glibc's strsignal), before its answer.
      if ($sig && $sig != 2 && $sig != 13) {
        my $what = $sig < 32 ? $SIGNAL[$sig] : $sig >= 34 ? 'Real-time signal ' . ($sig - 34) : "Unknown signal $sig";
        $put->(\*STDERR, $what . ($? & 128 ? ' (core dumped)' : '') . "\n");
      }
      $answer->($nonce, $sig ? 128 + $sig : $? >> 8);
    } elsif ($what eq '__c_wf') {
      # As the shell's __c_wi and __c_ws: a temp file made anew under the write's umask, all
      # the data read whatever happens, then owner, mode and the rename, the temp removed on
      # failure; in the words of dash, chown, chmod and mv.
      my ($umask, $path, $tmp, $mode, $owner, $group, $left) = @args;
      my ($f, $err, $rc);
      front_later();
      local @SIG{qw(HUP INT TERM PIPE)} = (sub { unlink $tmp if $f; syscall($exit, 129) }) x 4;
      umask oct $umask;
      # O_WRONLY | O_CREAT | O_EXCL: the shell's noclobber
      if (!sysopen($f, $tmp, 0301, 0666)) {
        ($rc, $err) = (2, "sh: 1: eval: cannot create $tmp: " . ($! == 2 ? 'Directory nonexistent' : "$!") . "\n");
        undef $f;
      }
      umask 077;
      while ($left > 0) {
        # The controller gone mid-write: nothing is left behind.
        if (!length $in && !sysread(STDIN, $in, 65536)) { unlink $tmp if $f; syscall($exit, 0) }
        my $chunk = substr($in, 0, $left < length $in ? $left : length $in, '');
        $left -= length $chunk;
        while (!defined $err && length $chunk) {
          my $n = syswrite($f, $chunk);
          if (defined $n) { substr($chunk, 0, $n) = '' } else { ($rc, $err) = (1, "cat: write error: $!\n") }
        }
      }
      ($rc, $err) = (1, "cat: write error: $!\n") if $f && !close($f) && !defined $err;
      unlink $tmp if defined $err && $f;
      ($rc, $err) = (1, front_finish($path, $tmp, $mode, $owner, $group)) if !defined $err;
      $answer->($nonce, defined $err ? $rc : 0, '', $err);
    } elsif ($what eq '__c_sh') {
      die "front: input after the switch to the shell\n" if length $in;
      front_later();
      # The shell's writes go on through perl, a fork of this one on the shell's fds 5 and 6:
      # else each write would start stat, chown, chmod or mv (~15 ms a write over ssh). A
      # grandchild, taken over at once by the init of its PID namespace: the shell reaps
      # only what it waits for, and a zombie it left would stay (in a container whose
      # agent is outside its PID namespace, keeping the container from ever stopping).
      my $fin = 0;
      if (pipe(my $qr, my $qw) && pipe(my $ar, my $aw)) {
        my $pid = fork();
        if (defined $pid && !$pid) {
          my $grand = fork();
          syscall($exit, 0) if !defined $grand || $grand;
          close $_ for $qw, $ar, STDOUT;
          close $lock if $lock;
          open(my $seven, '>&=', 7) and close $seven;
          front_finisher($qr, $aw, $exit);
        }
        waitpid($pid, 0) if $pid;
        # By way of fds above 9 (F_DUPFD_CLOEXEC, closed by the exec): the pipes may be on 5 or 6.
        my ($q, $a) = map { fcntl($_, 1030, 10) } $qw, $ar;
        $fin = 1 if $pid && $q && $a && syscall($dup3, $q, 5, 0) == 5 && syscall($dup3, $a, 6, 0) == 6;
      }
      $ENV{__c_front} = "$nonce $uid $gid $fin" . ($lock ? " $lf" : '');
      $sh->();
    } else {
      die "front: $what is not for the front\n";
    }
  }
}`;

/**
 * The front where a chain ends in a hop of its own (ssh, sudo, su, runuser, ...): `agent`
 * run behind it by a shell that starts perl where the target has perl, else the agent.
 * PERL_BADLANG quiets perl's warning where the locale (sent by ssh) is not installed.
 */
export function frontBoot(agent: readonly string[]): string[] {
  const perl = `delete $ENV{PERL_BADLANG};\n${PERL_ARCH}\nfront($arch, @ARGV);\n${FRONT_PERL}`;
  const boot =
    '__c_p=$1; shift; command -v perl >/dev/null 2>&1 && PERL_BADLANG=0 exec perl -e "$__c_p" -- "$@"; exec "$@"';
  return ['sh', '-c', boot, 'sh', perl, ...agent];
}
