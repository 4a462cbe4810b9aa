/**
 * The agent: a POSIX `sh` program, run as `sh -c PROGRAM` at the end of a connection
 * chain. It reads one request per line from stdin and `eval`s it. Each request ends by
 * calling `__c_end NONCE`, which writes `NONCE RC\n` to stdout and `NONCE` to stderr, so
 * the client can tell where one request's output ends on both streams without any extra
 * process. The program comes as `sh -c` text rather than on stdin, because a shell that
 * reads its own program from the pipe its requests arrive on races with `read`. A line cut
 * short by a controller that died is never run: `read` fails on a line without its newline.
 *
 * Helpers use builtins only, so a request costs no fork beyond the commands it runs.
 * Variables all start with `__c_` to stay clear of the commands' environment. A rename
 * is the one thing a shell cannot do itself: after the first two writes (where perl is
 * there, as on every Debian) a perl co-process on fds 5 and 6 does them, so a write costs
 * no process either. fd 7 holds the deployment lock. Commands run with those fds closed.
 *
 * GNU tools are used where the target has them (find -printf for probes); elsewhere
 * (busybox) the same answers come from stat(1) and readlink(1), slower but exact.
 */
export const AGENT_PROGRAM = String.raw`__c_nl='
'
umask 077
__c_tmp=
__c_mkl=
__c_bye() { exec 5>&- 6<&- 7>&-; [ -z "$__c_mkl" ] || rm -rf "$__c_mkl"; }
__c_sig='rm -f "$__c_tmp"; __c_bye; exit 129'
trap "$__c_sig" HUP INT TERM PIPE
__c_end() { __c_rc=$?; printf '%s %d\n' "$1" "$__c_rc"; printf '%s' "$1" >&2; }
__c_ret() { return "$1"; }
__c_recs_gnu='find "$@" -maxdepth 0 -printf "%p\0%y %m %U %G %u %g %s\0%l\0" 2>/dev/null </dev/null'
__c_recs_any='( __c_c=$#
for __c_p; do if [ -e "$__c_p" ] || [ -L "$__c_p" ]; then set -- "$@" "$__c_p"; fi; done
shift "$__c_c"
for __c_p; do
  __c_s=$(stat -c "%f %u %g %U %G %s" -- "$__c_p" 2>/dev/null) || continue
  set -f; set -- $__c_s; set +f
  case $((0x$1 & 61440)) in 32768) __c_y=f;; 16384) __c_y=d;; 40960) __c_y=l;; 4096) __c_y=p;;
    49152) __c_y=s;; 8192) __c_y=c;; 24576) __c_y=b;; *) __c_y=f;; esac
  __c_l=; [ "$__c_y" != l ] || __c_l=$(readlink -- "$__c_p")
  printf "%s\0%s %o %s %s %s %s %s\0%s\0" "$__c_p" "$__c_y" $((0x$1 & 4095)) "$2" "$3" "$4" "$5" "$6" "$__c_l"
done )'
__c_recs=$__c_recs_gnu
# Who the agent is, from /proc by builtins where it can; and whether find is GNU's.
__c_who() {
  # Skipped fields go to __c_x, not _: commands would get _ in their environment.
  read -r __c_x __c_x __c_x __c_x __c_pg __c_x 2>/dev/null < /proc/$$/stat || __c_pg=$$
  __c_u=; __c_g=
  while read -r __c_k __c_v __c_x; do
    case $__c_k in Uid:) __c_u=$__c_v ;; Gid:) __c_g=$__c_v; break ;; esac
  done 2>/dev/null < /proc/$$/status
  [ -n "$__c_g" ] || { __c_u=$(id -u); __c_g=$(id -g); }
  __c_finds
}
__c_finds() {
  # findutils installs find as a file of its own: taken as GNU's without running it. A
  # link (busybox, toybox) or none at all is asked whether it can -printf.
  __c_f=; __c_ifs=$IFS; IFS=:; set -f
  for __c_d in $PATH; do
    __c_d=${'$'}{__c_d:-.}/find; [ -f "$__c_d" ] && [ -x "$__c_d" ] && { __c_f=$__c_d; break; }
  done
  IFS=$__c_ifs; set +f
  if [ -z "$__c_f" ] || [ -L "$__c_f" ]; then
    [ "$(find / -maxdepth 0 -printf x 2>/dev/null </dev/null)" = x ] || __c_recs=$__c_recs_any
  fi
}
__c_hello() { __c_who; printf 'pid=%s pgid=%s uid=%s gid=%s\n' "$$" "$__c_pg" "$__c_u" "$__c_g"; __c_end "$1"; }
# The client's switch from a front (front.ts) to this shell; with no front, nothing to do.
__c_sh() { __c_ret 0; __c_end "$1"; }
__c_read() {
  if [ -e "$2" ] || [ -L "$2" ]; then cat -- "$2" </dev/null; else __c_ret 200; fi
  __c_end "$1"
}
# An old file to take owner and mode from: a regular file, never a link's target.
__c_old() { [ -f "$1" ] && [ ! -L "$1" ]; }
__c_own() {
  case $3$4 in
    -) ;;
    '') if __c_old "$1"; then __c_o=$(stat -c %u:%g -- "$1") && chown "$__c_o" "$2"; fi ;;
    *) chown "$3${'$'}{4:+:$4}" "$2" ;;
  esac
}
__c_mode() {
  case $3 in
    -) ;;
    '') if __c_old "$1"; then __c_o=$(stat -c %a -- "$1") && chmod "$__c_o" "$2"; else chmod 644 "$2"; fi ;;
    *) chmod "$3" "$2" ;;
  esac
}
__c_fin() {
  if [ "$__c_fn" = on ] && __c_ask f "$2" "$3" "$4" "$5" "$6"; then return "$__c_rr"; fi
  __c_own "$2" "$3" "$5" "$6" && __c_mode "$2" "$3" "$4" && __c_rename "$3" "$2" ||
    { __c_rc=$?; rm -f "$3"; return "$__c_rc"; }
}
# The finisher a front leaves on fds 5 and 6 (front.ts): NUL-terminated words to it, its
# exit code back in __c_rr; its words on stderr. Gone (killed), it is not asked again.
__c_fn=
__c_ask() {
  trap '' PIPE
  printf '%s\0' "$@" >&5 2>/dev/null && IFS= read -r __c_rr <&6
  __c_rc=$?; trap "$__c_sig" PIPE
  [ "$__c_rc" = 0 ] && return 0
  __c_fn=; exec 5>&- 6<&-; return 1
}
__c_renamer='$| = 1; $/ = "\0"; print "ready\n";
while (defined(my $from = <STDIN>)) {
  my $to = <STDIN>; last unless defined $to; chop $from; chop $to;
  if (rename $from, $to) { print "0\n" } else { my $e = "$!"; $e =~ s/\n/ /g; print "1 $e\n" }
}'
__c_rn=0
__c_rn_start() {
  command -v perl >/dev/null 2>&1 || return 1
  # The write's umask (the new file's mode: 133 for 0644) would make the directory
  # unsearchable to all but root; the request sets 077 back after the rename anyway.
  umask 077
  __c_d=$(mktemp -d 2>/dev/null) || return 1
  if mkfifo "$__c_d/i" "$__c_d/o" 2>/dev/null; then
    perl -e "$__c_renamer" <"$__c_d/i" >"$__c_d/o" 2>/dev/null 7>&- &
    exec 5>"$__c_d/i" 6<"$__c_d/o"
    rm -rf "$__c_d"
    # A perl that cannot run has still opened the FIFOs (its shell did, before exec).
    IFS= read -r __c_rr <&6 && [ "$__c_rr" = ready ] && return 0
    exec 5>&- 6<&-; return 1
  fi
  rm -rf "$__c_d"; return 1
}
__c_rename() {
  case $__c_rn in
    0|1) __c_rn=$((__c_rn + 1)); mv -fT "$1" "$2"; return ;;
    2) if __c_rn_start; then __c_rn=on; else __c_rn=off; fi ;;
  esac
  if [ "$__c_rn" = on ]; then
    # A renamer gone (killed) must not take the agent with it: no SIGPIPE trap meanwhile.
    trap '' PIPE
    printf '%s\0%s\0' "$1" "$2" >&5 2>/dev/null && IFS= read -r __c_rr <&6
    __c_rc=$?; trap "$__c_sig" PIPE
    if [ "$__c_rc" = 0 ]; then
      [ "$__c_rr" = 0 ] && return 0
      printf "mv: cannot move '%s' to '%s': %s\n" "$1" "$2" "${'$'}{__c_rr#1 }" >&2; return 1
    fi
    __c_rn=off; exec 5>&- 6<&-
  fi
  mv -fT "$1" "$2"
}
# Inline write: the data is the request's last word. printf says only "I/O error" when
# the disk is full; cat says why, so a failure is written once more through cat.
__c_wi() {
  __c_tmp=$3; set -C; printf '%s' "$7" > "$3"; __c_rc=$?; set +C
  if [ "$__c_rc" = 0 ]; then __c_fin "$@"
  else
    if [ -f "$3" ] && [ ! -L "$3" ]; then printf '%s' "$7" 2>/dev/null | cat > "$3"; fi
    rm -f "$3"; __c_ret "$__c_rc"
  fi
  __c_end "$1"; __c_tmp=
}
# Streamed write of exactly $7 bytes from stdin. Whatever happens, all $7 bytes are
# consumed (else they would be read as requests), and only a complete file is renamed:
# input that ends early (the controller went away) leaves nothing behind.
__c_ws() {
  __c_tmp=$3; set -C; printf "" > "$3"; __c_rc=$?; set +C
  if [ "$__c_fn" = on ]; then
    # The finisher reads the data from this same input. Gone half-way, it leaves the input
    # at a place no request begins: nothing can go on.
    if [ "$__c_rc" = 0 ]; then __c_ask d "$3" "$7" || exit 125; else __c_ask d '' "$7" || exit 125; fi
    if [ "$__c_rc" != 0 ]; then __c_ret "$__c_rc"
    elif [ "$__c_rr" = 0 ]; then __c_fin "$@" || __c_ret "$?"
    else __c_ret "$__c_rr"; fi
    __c_end "$1"; __c_tmp=; return
  fi
  if [ "$__c_rc" = 0 ]; then
    head -c "$7" | { cat >> "$3" || { cat > /dev/null; __c_ret 1; }; }
    __c_rc=$?
    if [ "$__c_rc" = 0 ]; then
      __c_sz=$(wc -c < "$3")
      if [ "$__c_sz" -eq "$7" ]; then __c_fin "$@"
      else echo "short write: received $__c_sz of $7 bytes" >&2; rm -f "$3"; __c_ret 1; fi
    else rm -f "$3"; __c_ret "$__c_rc"; fi
  else
    head -c "$7" > /dev/null; __c_ret "$__c_rc"
  fi
  __c_end "$1"; __c_tmp=
}
# The front's words for a write and a command (front.ts), for a client that took this
# shell for a front: one that found no flock(1) or no perl, and started the shell at once.
__c_wf() { __c_a=$1; umask "$2"; shift 2; __c_ws "$__c_a" "$@"; umask 077; }
__c_run() {
  __c_a=$1; shift
  ( umask "$1"; [ -z "$2" ] || cd -- "$2" || exit 1
    __c_c=$3; __c_k=$4; shift 4
    if [ "$__c_c" = 1 ]; then exec env -i "$@"; fi
    while [ "$__c_k" -gt 0 ]; do export "$1"; shift; __c_k=$((__c_k - 1)); done
    exec "$@" ) 5>&- 6<&- 7>&- </dev/null
  __c_end "$__c_a"
}
__c_probe() {
  __c_n=$1; __c_k=$2; shift 2; __c_c=$#
  [ "$#" = 0 ] || eval "$__c_recs"
  printf '\0'
  __c_i=0
  for __c_p; do
    __c_i=$((__c_i + 1))
    if [ "$__c_i" -gt "$__c_k" ] && [ -f "$__c_p" ] && [ ! -L "$__c_p" ] && [ -r "$__c_p" ]; then
      set -- "$@" "$__c_p"
    fi
  done
  shift "$__c_c"
  [ "$#" = 0 ] || printf '%s\0' "$@"
  printf '\0'
  [ "$#" = 0 ] || cat -- "$@" </dev/null 2>/dev/null
  __c_ret 0; __c_end "$__c_n"
}
__c_probe_big() {
  head -c "$2" | xargs -0rx sh -c "k=\$1; shift$__c_nl$__c_recs$__c_nl$__c_probe_tail" sh "$3"
  __c_ret 0; __c_end "$1"
}
__c_probe_tail='printf "\0"
files() { shift "$1"; shift; for p; do [ -f "$p" ] && [ ! -L "$p" ] && [ -r "$p" ] && printf "%s\0" "$p"; done; }
files "$k" "$@"; printf "\0"
files "$k" "$@" | xargs -0r cat --'
# The deployment lock: fd 7 on a lock file, held until the agent exits (flock(1); where
# there is none, a directory whose owner's pid is checked). Try once, then wait. The
# file is in CONSFIG_LOCK_DIR where the agent's environment names a directory there.
__c_lock_open() {
  __c_lf=
  for __c_d in "${'$'}{CONSFIG_LOCK_DIR:-/run/lock}" /run/lock /var/lock "${'$'}{TMPDIR:-/tmp}"; do
    if [ -d "$__c_d" ] && [ -w "$__c_d" ]; then __c_lf=$__c_d/$1; break; fi
  done
  [ -n "$__c_lf" ] || { echo "no writable directory for the lock file (/run/lock, /var/lock, /tmp)" >&2; return 2; }
  command exec 7>>"$__c_lf" || return 2
  command -v flock >/dev/null 2>&1 && __c_fl=1 || __c_fl=
}
__c_lock_take() {
  if [ -n "$__c_fl" ]; then flock -n 7; return; fi
  mkdir "$__c_lf.d" 2>/dev/null && { echo "$$" > "$__c_lf.d/pid"; __c_mkl=$__c_lf.d; return 0; }
  read -r __c_hp < "$__c_lf.d/pid" 2>/dev/null
  if [ -n "$__c_hp" ] && [ ! -d "/proc/$__c_hp" ]; then rm -rf "$__c_lf.d"; __c_lock_take; return; fi
  return 1
}
__c_lock_held() { printf '%s\n' "$1" > "$__c_lf"; }
# Named by the uid the greeting found: consfig.lock for root, consfig-UID.lock for others.
__c_lock_try() {
  if [ "$__c_u" = 0 ]; then __c_ln=consfig.lock; else __c_ln=consfig-$__c_u.lock; fi
  if __c_lock_open "$__c_ln"; then
    if __c_lock_take; then __c_lock_held "$2"; else cat -- "$__c_lf" 2>/dev/null; __c_ret 75; fi
  else __c_ret 2; fi
  __c_end "$1"
}
__c_lock_wait() {
  if [ -n "$__c_fl" ]; then flock -w "$2" 7
  else
    __c_i=0
    until __c_lock_take; do [ "$__c_i" -ge "$2" ] && break; sleep 1; __c_i=$((__c_i + 1)); done
    [ -n "$__c_mkl" ]
  fi
  if [ "$?" = 0 ]; then __c_lock_held "$3"; else cat -- "$__c_lf" 2>/dev/null; __c_ret 75; fi
  __c_end "$1"
}
# Started by a front, which answered the greeting (and took the lock, on fd 7): answer its
# switch. __c_front holds its nonce, our uid and gid (the front's, known already), 1 where
# it left a finisher on fds 5 and 6, then the lock file's name where it took the lock.
if [ -n "${'$'}{__c_front+x}" ]; then
  __c_finds
  __c_n=${'$'}{__c_front%% *} __c_x=${'$'}{__c_front#* }
  __c_u=${'$'}{__c_x%% *} __c_x=${'$'}{__c_x#* }
  __c_g=${'$'}{__c_x%% *} __c_x=${'$'}{__c_x#* }
  case $__c_x in 1*) __c_fn=on ;; esac
  # No renamer either way: a child this shell does not wait for would stay a zombie, which
  # in a container whose agent is outside its PID namespace keeps it from stopping.
  __c_rn=off
  case $__c_x in *' '*) __c_lf=${'$'}{__c_x#* } __c_fl=1 ;; esac
  unset __c_front
  __c_ret 0; __c_end "$__c_n"
fi
while IFS= read -r __c_req; do eval "$__c_req"; done
# The renamer ends on EOF; waited for here, so no orphan is left to init.
__c_bye; wait
`;
