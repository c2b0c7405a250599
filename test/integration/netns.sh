# Network namespaces for the integration tests that need them (bash).
# Source it after lib.sh:
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/netns.sh"
# Everything made through these functions is removed on every exit path,
# a failure or a signal (a meson timeout) included, and then lib.sh's own
# cleanup runs with the test's exit status.
#
#   netns_require            skips (77) unless root with iproute2
#   netns_sweep STEM         removes namespaces STEM-PID-* that a run killed
#                            outright left: PID gone, no process in them
#   netns_add NS...          namespaces with lo up; the first call skips
#                            when a namespace cannot be entered here (a
#                            chroot or a restricted container)
#   netns_link NS_X IF_X NS_Y IF_Y [MTU] [down]
#                            a veth pair, the MTU ("" for the default) at
#                            both ends, both up unless "down" is given
#   netns_up NS IF
#   netns_addr NS IF ADDR [nodad]
#   netns_resolv NS NAMESERVER
#                            /etc/netns/NS/resolv.conf, for lookups in NS
# NS "-" is the test's own namespace (netns_link, netns_addr).
#
# A test whose processes use the namespaces defines hooks, called by the
# cleanup when defined: netns_before_cleanup (stop them before the
# namespaces go) and netns_after_cleanup (after; deleting the namespaces
# first is quick, and a timed-out test gets half a second before SIGKILL).
# INTERRUPTED is 1 in them when a signal ended the test.

NETNS_LIST=()        # namespaces made here
NETNS_HOST_LINKS=()  # veth ends made in the test's own namespace
NETNS_DIRS=()        # /etc/netns/NS directories
NETNS_PROBED=0
INTERRUPTED=0

netns_cleanup() {
  local x
  ! declare -F netns_before_cleanup >/dev/null || netns_before_cleanup || true
  for x in "${NETNS_HOST_LINKS[@]:-}"; do [ -n "$x" ] && ip link del "$x" 2>/dev/null || true; done
  [ ${#NETNS_LIST[@]} = 0 ] || printf 'netns del %s\n' "${NETNS_LIST[@]}" | ip -force -batch - 2>/dev/null || true
  for x in "${NETNS_DIRS[@]:-}"; do [ -n "$x" ] && rm -rf "$x"; done
  ! declare -F netns_after_cleanup >/dev/null || netns_after_cleanup || true
}
# lib.sh's cleanup reads the exit status from $? on entry: hand it the
# test's status, not netns_cleanup's.
trap 'st=$?; netns_cleanup; (exit $st); cleanup' EXIT
trap 'INTERRUPTED=1; exit 130' INT TERM

netns_require() {
  [ "$(id -u)" = 0 ] || skip "needs root and ip netns"
  command -v ip >/dev/null 2>&1 || skip "needs ip (iproute2)"
}

netns_sweep() {
  local stem=$1 owner ns
  for owner in $(ip netns list 2>/dev/null | sed -n "s/^$stem-\([0-9]*\)-.*/\1/p" | sort -u); do
    kill -0 "$owner" 2>/dev/null && continue
    local mine
    mine=$(ip netns list 2>/dev/null | sed -n "s/^\($stem-$owner-[^ ]*\).*/\1/p")
    [ -z "$(for ns in $mine; do ip netns pids "$ns" 2>/dev/null; done)" ] || continue
    for ns in $mine; do
      ip netns del "$ns" 2>/dev/null && echo "# removed stale namespace $ns" || true
    done
    rm -rf "/etc/netns/$stem-$owner-"*
  done
}

netns_add() {
  local ns why
  for ns in "$@"; do
    if [ $NETNS_PROBED = 0 ]; then
      ip netns add "$ns" 2>/dev/null || skip "needs root and ip netns (ip netns add failed)"
      NETNS_LIST+=("$ns")
      why=$(ip netns exec "$ns" true 2>&1) ||
        skip "cannot run commands in a network namespace here (ip netns exec: ${why:-failed})"
      NETNS_PROBED=1
    else
      ip netns add "$ns" || fail "ip netns add $ns"
      NETNS_LIST+=("$ns")
    fi
    ip -n "$ns" link set lo up
  done
}

# "-n NS", or nothing for the test's own namespace
netns_opt() { [ "$1" = - ] || printf -- '-n\n%s\n' "$1"; }

netns_link() {
  local mtu=() x=() y=()
  [ -z "${5:-}" ] || mtu=(mtu "$5")
  [ "$1" = - ] || x=(netns "$1")
  [ "$3" = - ] || y=(netns "$3")
  ip link add "$2" "${x[@]}" "${mtu[@]}" type veth peer name "$4" "${y[@]}" "${mtu[@]}" ||
    fail "ip link add $2 (veth to $4)"
  [ "$1" != - ] || NETNS_HOST_LINKS+=("$2")
  [ "$3" != - ] || NETNS_HOST_LINKS+=("$4")
  [ "${6:-}" = down ] && return 0
  netns_up "$1" "$2"
  netns_up "$3" "$4"
}

netns_up() {
  ip $(netns_opt "$1") link set "$2" up
}

netns_addr() {
  ip $(netns_opt "$1") addr add "$3" dev "$2" ${4:-}
}

netns_resolv() {
  mkdir -p "/etc/netns/$1"
  NETNS_DIRS+=("/etc/netns/$1")
  echo "nameserver $2" >"/etc/netns/$1/resolv.conf"
}
