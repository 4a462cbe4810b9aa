/**
 * Perl text that sets `$arch` to the system call ABI of the perl running it, for the
 * helpers that make system calls by number (lxc-enter.ts, chroot.ts): perl's own build
 * (a 32-bit perl on a 64-bit kernel takes the 32-bit numbers), named as the tables
 * below name it: x86_64, i386, arm, aarch64, riscv64, loongarch64, ppc64, s390x; x32
 * and anything else match no table.
 */
export const PERL_ARCH = String.raw`require Config;
my $arch = $Config::Config{archname};
$arch = 'x32' if $arch =~ /x32/;
$arch =~ s/[-\s].*//s;
$arch = 'i386' if $arch =~ /\Ai[3-6]86\z/;
$arch = 'arm' if $arch =~ /\Aarm/;
$arch = 'ppc64' if $arch =~ /\A(?:powerpc64|ppc64)/;`;
