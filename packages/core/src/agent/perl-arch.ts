/**
 * Perl text that sets `$arch` to the system call ABI of the perl running it, for the perl
 * that makes system calls by number (the agent's front; the container and chroot helpers
 * of @consfig/connections): perl's own build (a 32-bit perl on a 64-bit kernel takes the
 * 32-bit numbers), named as the tables name it: x86_64, i386, arm, aarch64, riscv64,
 * loongarch64, ppc64, s390x; x32 and anything else match no table.
 *
 * It reads the ELF header of perl's own binary (class and machine) rather than asking
 * perl's Config module, whose loading (Config, strict, warnings: ~35 KB of perl to
 * compile) doubled the helper's start (~4 ms of ~9 here); Config only where /proc is not
 * there to read.
 */
export const PERL_ARCH = String.raw`my ($arch, $exe, $elf);
if (open($exe, '<', '/proc/self/exe') && (sysread($exe, $elf, 20) // 0) == 20 && $elf =~ /\A\x7fELF/) {
  my ($class, $data) = unpack('x4 C C', $elf);
  my $machine = unpack($data == 2 ? 'n' : 'v', substr($elf, 18, 2));
  my %MACHINE = (62 => 'x86_64', 3 => 'i386', 40 => 'arm', 183 => 'aarch64', 243 => 'riscv64',
    258 => 'loongarch64', 21 => 'ppc64', 22 => 's390x');
  $arch = $MACHINE{$machine} // "elf-machine-$machine";
  # A 32-bit build for a 64-bit machine (x32, arm64 ilp32, s390, riscv32) has other numbers.
  $arch = $arch eq 'x86_64' ? 'x32' : "$arch-32" if $class == 1 && $arch =~ /64|s390x/;
  close($exe);
} else {
  require Config;
  $arch = $Config::Config{archname};
  $arch = 'x32' if $arch =~ /x32/;
  $arch =~ s/[-\s].*//s;
  $arch = 'i386' if $arch =~ /\Ai[3-6]86\z/;
  $arch = 'arm' if $arch =~ /\Aarm/;
  $arch = 'ppc64' if $arch =~ /\A(?:powerpc64|ppc64)/;
}`;
