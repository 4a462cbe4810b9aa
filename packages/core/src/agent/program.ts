/**
 * The agent: a POSIX `sh` program, run as `sh -c PROGRAM` at the end of a connection
 * chain. It reads one request per line from stdin and `eval`s it. Each request ends by
 * calling `__c_end NONCE`, which writes `NONCE RC\n` to stdout and `NONCE` to stderr, so
 * the client can tell where one request's output ends on both streams without any extra
 * process. The program comes as `sh -c` text rather than on stdin, because a shell that
 * reads its own program from the pipe its requests arrive on races with `read`.
 *
 * Helpers use builtins only, so a request costs no fork beyond the commands it runs.
 * Variables all start with `__c_` to stay clear of the commands' environment. A rename
 * is the one thing a shell cannot do itself: after the first two writes (where perl is
 * there, as on every Debian) a perl co-process on fds 5 and 6 does them, so a write costs
 * no process either; commands run with those fds closed.
 */
export const AGENT_PROGRAM = String.raw`__c_nl='
'
umask 077
__c_tmp=
__c_sig='rm -f "$__c_tmp"; exit 129'
trap "$__c_sig" HUP INT TERM PIPE
__c_end() { __c_rc=$?; printf '%s %d\n' "$1" "$__c_rc"; printf '%s' "$1" >&2; }
__c_ret() { return "$1"; }
__c_hello() {
  read -r _ _ _ _ __c_pg _ < /proc/$$/stat 2>/dev/null || __c_pg=$$
  printf 'pid=%s pgid=%s %s\n' "$$" "$__c_pg" "$(id)"; __c_end "$1"
}
__c_read() {
  if [ -e "$2" ] || [ -L "$2" ]; then cat -- "$2" </dev/null; else __c_ret 200; fi
  __c_end "$1"
}
__c_own() {
  case $3$4 in
    -) ;;
    '') [ ! -e "$1" ] || chown --reference="$1" "$2" 2>/dev/null || : ;;
    *) chown "$3${"$"}{4:+:$4}" "$2" ;;
  esac
}
__c_mode() {
  case $3 in
    -) ;;
    '') if [ -e "$1" ]; then chmod --reference="$1" "$2"; else chmod 644 "$2"; fi ;;
    *) chmod "$3" "$2" ;;
  esac
}
__c_fin() {
  __c_own "$2" "$3" "$5" "$6" && __c_mode "$2" "$3" "$4" && __c_rename "$3" "$2" ||
    { __c_rc=$?; rm -f "$3"; return "$__c_rc"; }
}
__c_renamer='$| = 1; $/ = "\0"; print "ready\n";
while (defined(my $from = <STDIN>)) {
  my $to = <STDIN>; last unless defined $to; chop $from; chop $to;
  if (rename $from, $to) { print "0\n" } else { my $e = "$!"; $e =~ s/\n/ /g; print "1 $e\n" }
}'
__c_rn=0
__c_rn_start() {
  command -v perl >/dev/null 2>&1 || return 1
  __c_d=$(mktemp -d 2>/dev/null) || return 1
  if mkfifo "$__c_d/i" "$__c_d/o" 2>/dev/null; then
    perl -e "$__c_renamer" <"$__c_d/i" >"$__c_d/o" 2>/dev/null &
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
      printf "mv: cannot move '%s' to '%s': %s\n" "$1" "$2" "${"$"}{__c_rr#1 }" >&2; return 1
    fi
    __c_rn=off; exec 5>&- 6<&-
  fi
  mv -fT "$1" "$2"
}
__c_wi() {
  __c_tmp=$3; set -C; printf '%s' "$7" > "$3"; __c_rc=$?; set +C
  if [ "$__c_rc" = 0 ]; then __c_fin "$@"; else __c_ret "$__c_rc"; fi
  __c_end "$1"; __c_tmp=
}
__c_ws() {
  __c_tmp=$3; set -C; printf '' > "$3"; __c_rc=$?; set +C
  if [ "$__c_rc" = 0 ]; then
    head -c "$7" | { cat >> "$3" || { cat > /dev/null; __c_ret 1; }; } && __c_fin "$@"
  else
    head -c "$7" > /dev/null; __c_ret "$__c_rc"
  fi
  __c_end "$1"; __c_tmp=
}
__c_probe_find='find "$@" -maxdepth 0 -printf "%p\0%y %m %U %G %u %g %s\0%l\0" 2>/dev/null </dev/null'
__c_probe() {
  __c_n=$1; __c_k=$2; shift 2; __c_c=$#
  [ "$#" = 0 ] || eval "$__c_probe_find"
  printf '\0'
  __c_i=0
  for __c_p; do
    __c_i=$((__c_i + 1))
    if [ "$__c_i" -gt "$__c_k" ] && [ -f "$__c_p" ] && [ ! -L "$__c_p" ] && [ -r "$__c_p" ]; then set -- "$@" "$__c_p"; fi
  done
  shift "$__c_c"
  [ "$#" = 0 ] || printf '%s\0' "$@"
  printf '\0'
  [ "$#" = 0 ] || cat -- "$@" </dev/null 2>/dev/null
  __c_ret 0; __c_end "$__c_n"
}
__c_probe_sh='k=$1; shift
'"$__c_probe_find"'
printf "\0"
files() { shift "$1"; shift; for p; do [ -f "$p" ] && [ ! -L "$p" ] && [ -r "$p" ] && printf "%s\0" "$p"; done; }
files "$k" "$@"; printf "\0"
files "$k" "$@" | xargs -0r cat --'
__c_probe_big() {
  head -c "$2" | xargs -0rx sh -c "$__c_probe_sh" sh "$3"
  __c_ret 0; __c_end "$1"
}
while IFS= read -r __c_req; do eval "$__c_req"; done
# The renamer ends on EOF; waited for here, so no orphan is left to init.
exec 5>&- 6<&-; wait
`;
